/**
 * Runs primitive cases as node:test properties: a VJP-vs-finite-differences check and backend parity.
 * Every process draws a fresh fast-check seed (FC_SEED replays one); a failure prints the command that replays it.
 * Runs per property: the case's count locally, 10/3 of it (15 → 50) under CI=true; FC_NUM_RUNS caps it (mutation runs).
 */
import { test } from 'node:test'
import { relative } from 'node:path'
import type { Backend, HostTensor, Tensor } from '../src/index.ts'
import { cpuBackend, gpuBackend } from '../src/index.ts'
import { checkParity, checkVjp, fc } from '../src/testing/index.ts'

export interface PrimCase {
  /** The primitive's name in the primitive table. */
  readonly prim: string
  /** A label when one primitive has several cases. */
  readonly label?: string
  /** Inputs (float64) and whatever attributes `f` needs. */
  readonly arb: fc.Arbitrary<{ readonly inputs: readonly HostTensor[]; readonly attrs?: any }>
  readonly f: (xs: readonly Tensor[], attrs: any) => Tensor
  /**
   * Inputs to differentiate (default: all). Integer-valued inputs (labels) are left out; `[]` (nothing to
   * differentiate) runs the parity property only, and the case does not count as the primitive's VJP property.
   */
  readonly wrt?: readonly number[]
  /** Keeps cases off kinks and ties (fc.pre). */
  readonly pre?: (inputs: readonly HostTensor[], attrs: any) => boolean
  /** Runs locally (default 15); CI=true runs 10/3 as many. */
  readonly numRuns?: number
  readonly rtol?: number
}

/** Whether a case runs a VJP property (it has something to differentiate). */
export const hasVjpProperty = (c: PrimCase): boolean => c.wrt === undefined || c.wrt.length > 0

/**
 * The gpu backend under test: gpu.js webasm (CI has no adapter), or WebGPU with SOFTSHARE_GPU_MODE=webgpu
 * when the process already has a navigator.gpu (e.g. a device run, or a preloaded software adapter).
 */
export const testGpu = (opts: { vec4?: boolean } = {}) =>
  gpuBackend({ mode: process.env.SOFTSHARE_GPU_MODE === 'webgpu' ? 'webgpu' : 'webasm', ...opts })

/**
 * The non-reference backends every parity property runs on: cpu (WASM GEMM/conv kernels where the host has
 * them), cpu-js (the plain-JS kernels that run where WASM threads are not) and gpu. SOFTSHARE_PARITY=cpu
 * keeps the two cpu variants (mutation runs, which mutate code the gpu backend does not use).
 */
export const parityBackends = (): Backend<any>[] => [
  cpuBackend(),
  cpuBackend({ wasm: false }),
  ...(process.env.SOFTSHARE_PARITY === 'cpu' ? [] : [testGpu()]),
]

/** float32 GPU kernels (f32 accumulation, WGSL's relaxed transcendentals) get tfjs's GPU tolerance. */
const parityTolerance = (be: Backend<any>) => (be.name === 'gpu' ? { rtol: 1e-3, atol: 1e-3 } : {})

const ci = process.env.CI === 'true'
/** This process's seed: FC_SEED when set (replay), else fresh. */
export const fcSeed: number = process.env.FC_SEED ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0

// Mutation runs (one test run per mutant) trade exploration for speed; a survivor there may still die at the full count.
const runCap = process.env.FC_NUM_RUNS ? Math.max(1, Number(process.env.FC_NUM_RUNS)) : Number.POSITIVE_INFINITY
/** Runs for a property whose local count is `local`: 10/3 as many under CI=true (15 → 50), at most FC_NUM_RUNS. */
export const runsFor = (local: number): number => Math.min(runCap, ci ? Math.ceil((local * 10) / 3) : local)

/** fast-check parameters: this process's seed, `runsFor(local)` runs, and FC_PATH to replay one shrunk case. */
export const fcParams = (local: number) => ({
  numRuns: runsFor(local),
  seed: fcSeed,
  endOnFailure: false,
  ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
})

const testFile = (): string => relative(process.cwd(), process.argv[1] ?? 'test/…') || 'test/…'

/** The shell command that replays a failed property (same seed, same test, same run count). */
export const replayCommand = (name: string, path?: string): string => {
  const cap = process.env.FC_NUM_RUNS ? [`FC_NUM_RUNS=${process.env.FC_NUM_RUNS}`] : []
  const env = [`FC_SEED=${fcSeed}`, ...(path ? [`FC_PATH=${path}`] : []), ...(ci ? ['CI=true'] : []), ...cap].join(' ')
  const pattern = name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&').replace(/'/g, `'\\''`)
  return `${env} node --import tsx --test --test-name-pattern='${pattern}' ${testFile()}`
}

/** Wraps fast-check's error with the replay command (its message keeps seed, path and counterexample). */
const withReplay = (name: string, e: unknown): Error => {
  const msg = e instanceof Error ? e.message : String(e)
  const path = /path: "([^"]*)"/.exec(msg)?.[1]
  return new Error(`${msg}\nreplay: ${replayCommand(name, path)}`, { cause: e })
}

/** fc.assert with this process's seed and run count; on failure the error names the replay command. */
export const assertProperty = (name: string, p: fc.IProperty<any>, local: number): void => {
  try {
    fc.assert(p, fcParams(local))
  } catch (e) {
    throw withReplay(name, e)
  }
}

/** The async twin of `assertProperty`. */
export const assertAsyncProperty = async (name: string, p: fc.IAsyncProperty<any>, local: number): Promise<void> => {
  try {
    await fc.assert(p, fcParams(local))
  } catch (e) {
    throw withReplay(name, e)
  }
}

/** `test(name, …)` running a (sync or async) property with this process's seed; failures name the replay command. */
export const propertyTest = (name: string, p: fc.IProperty<any> | fc.IAsyncProperty<any>, local = 15): void => {
  test(name, () =>
    p.isAsync() ? assertAsyncProperty(name, p as fc.IAsyncProperty<any>, local) : assertProperty(name, p as fc.IProperty<any>, local),
  )
}

export const primTests = (cases: readonly PrimCase[]): void => {
  for (const c of cases) {
    const name = c.label ? `${c.prim} (${c.label})` : c.prim
    const runs = c.numRuns ?? 15
    if (hasVjpProperty(c))
      propertyTest(
        `${name}: VJP matches central differences (float64, ref)`,
        fc.property(c.arb, ({ inputs, attrs }) => {
          if (c.pre) fc.pre(c.pre(inputs, attrs))
          const r = checkVjp((...xs) => c.f(xs, attrs), inputs, { wrt: c.wrt, ...(c.rtol ? { rtol: c.rtol } : {}) })
          if (!r.ok) throw new Error(r.message)
        }),
        runs,
      )
    for (const be of parityBackends()) {
      const title = `${name}: ${be.name} matches ref (forward${hasVjpProperty(c) ? ' and VJP' : ''})`
      test(title, () =>
        assertAsyncProperty(
          title,
          fc.asyncProperty(c.arb, async ({ inputs, attrs }) => {
            if (c.pre) fc.pre(c.pre(inputs, attrs))
            const r = await checkParity((...xs) => c.f(xs, attrs), inputs, be, { wrt: c.wrt, ...parityTolerance(be) })
            if (!r.ok) throw new Error(r.message)
          }),
          runs,
        ),
      )
    }
  }
}
