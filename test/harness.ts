/** Runs primitive cases as node:test properties: a VJP-vs-finite-differences check and backend parity. */
import { test } from 'node:test'
import type { Backend, HostTensor, Tensor } from '../src/index.ts'
import { cpuBackend } from '../src/index.ts'
import { checkParity, checkVjp, fc } from '../src/testing/index.ts'

export interface PrimCase {
  /** The primitive's name in the primitive table. */
  readonly prim: string
  /** A label when one primitive has several cases. */
  readonly label?: string
  /** Inputs (float64) and whatever attributes `f` needs. */
  readonly arb: fc.Arbitrary<{ readonly inputs: readonly HostTensor[]; readonly attrs?: any }>
  readonly f: (xs: readonly Tensor[], attrs: any) => Tensor
  /** Inputs to differentiate (default: all). Integer-valued inputs (labels) are left out. */
  readonly wrt?: readonly number[]
  /** Keeps cases off kinks and ties (fc.pre). */
  readonly pre?: (inputs: readonly HostTensor[], attrs: any) => boolean
  readonly numRuns?: number
  readonly rtol?: number
}

/** The non-reference backends every parity property runs on. */
export const parityBackends = (): Backend<any>[] => [cpuBackend()]

const seedOpts = (numRuns: number) => ({ numRuns, seed: Number(process.env.FC_SEED ?? 42), endOnFailure: false })

export const primTests = (cases: readonly PrimCase[]): void => {
  for (const c of cases) {
    const name = c.label ? `${c.prim} (${c.label})` : c.prim
    test(`${name}: VJP matches central differences (float64, ref)`, () => {
      fc.assert(
        fc.property(c.arb, ({ inputs, attrs }) => {
          if (c.pre) fc.pre(c.pre(inputs, attrs))
          const r = checkVjp((...xs) => c.f(xs, attrs), inputs, { wrt: c.wrt, ...(c.rtol ? { rtol: c.rtol } : {}) })
          if (!r.ok) throw new Error(r.message)
        }),
        seedOpts(c.numRuns ?? 15),
      )
    })
    for (const be of parityBackends())
      test(`${name}: ${be.name} matches ref (forward and VJP)`, async () => {
        await fc.assert(
          fc.asyncProperty(c.arb, async ({ inputs, attrs }) => {
            if (c.pre) fc.pre(c.pre(inputs, attrs))
            const r = await checkParity((...xs) => c.f(xs, attrs), inputs, be, { wrt: c.wrt })
            if (!r.ok) throw new Error(r.message)
          }),
          seedOpts(c.numRuns ?? 15),
        )
      })
  }
}
