/**
 * softshare/testing: the public gradient checker and fast-check arbitraries, for users testing their own ops.
 * `checkVjp` compares ⟨c, (f(x+εt) − f(x−εt)) / 2ε⟩ with ⟨vjp(c), t⟩ in float64 on the `ref` backend
 * (the JAX check_vjp idea); `checkParity` compares any backend with `ref`, forward and VJP.
 */
import fc from 'fast-check'
import { constant, type Tensor } from '../graph/graph.ts'
import { runSync, run } from '../autodiff/run.ts'
import { vjp } from '../autodiff/vjp.ts'
import type { Backend } from '../backend/backend.ts'
import { refBackend } from '../backend/ref/index.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { type Key, key as mkKey, normalArray, split } from '../tensor/prng.ts'
import { fmt, type Shape, sizeOf } from '../tensor/shape.ts'

export interface CheckVjpOptions {
  /** Finite-difference step (default 1e-6). */
  readonly eps?: number
  /** Relative tolerance (default 1e-5). */
  readonly rtol?: number
  /** Absolute tolerance, scaled by the size of the terms (default 1e-8). */
  readonly atol?: number
  /** Indices of the inputs to differentiate (default: all). */
  readonly wrt?: readonly number[]
  /** PRNG key for the direction t and cotangent c. */
  readonly key?: Key
}

export interface CheckResult {
  readonly ok: boolean
  /** ⟨c, finite difference⟩ */
  readonly numeric: number
  /** ⟨vjp(c), t⟩ */
  readonly analytic: number
  readonly message: string
}

const f64 = (t: HostTensor): HostTensor => (t.data instanceof Float64Array ? t : fromData(Float64Array.from(t.data), t.shape))
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** Checks the VJP of `f` at `inputs` against central differences in float64 (see module doc). */
export const checkVjp = (f: (...xs: Tensor[]) => Tensor, inputs: readonly HostTensor[], opts: CheckVjpOptions = {}): CheckResult => {
  const eps = opts.eps ?? 1e-6
  const rtol = opts.rtol ?? 1e-5
  const atol = opts.atol ?? 1e-8
  const wrt = opts.wrt ?? inputs.map((_, i) => i)
  const [kt, kc] = split(opts.key ?? mkKey(0))
  const be = refBackend()
  const xs = inputs.map(f64)
  const dirs = xs.map((x, i) => (wrt.includes(i) ? normalArray(split(kt, xs.length)[i], x.data.length) : new Float64Array(x.data.length)))
  const shifted = (sgn: number) =>
    xs.map((x, i) => {
      const d = new Float64Array(x.data.length)
      for (let j = 0; j < d.length; j++) d[j] = x.data[j] + sgn * eps * dirs[i][j]
      return constant(fromData(d, x.shape))
    })
  const plus = runSync(f(...shifted(1)), { backend: be })
  const minus = runSync(f(...shifted(-1)), { backend: be })
  const c = normalArray(kc, plus.data.length)
  let numeric = 0
  for (let j = 0; j < c.length; j++) numeric += (c[j] * (plus.data[j] - minus.data[j])) / (2 * eps)
  const { out, vjp: back } = vjp((ts: Tensor[]) => f(...ts), xs)
  const grads = runSync(back(fromData(c, out.shape)), { backend: be })
  let analytic = 0
  let scale = 0
  grads.forEach((g, i) => {
    if (!wrt.includes(i)) return
    analytic += dot(g.data, dirs[i])
    for (let j = 0; j < g.data.length; j++) scale += Math.abs(g.data[j] * dirs[i][j])
  })
  const err = Math.abs(numeric - analytic)
  const ok = err <= atol * Math.max(1, scale) + rtol * Math.max(Math.abs(numeric), Math.abs(analytic))
  return {
    ok,
    numeric,
    analytic,
    message: `${ok ? 'ok' : 'VJP mismatch'}: finite difference ${numeric} vs vjp ${analytic} (|diff| ${err.toExponential(2)}, inputs ${inputs.map((x) => fmt(x.shape)).join(', ')})`,
  }
}

export interface ParityOptions {
  readonly rtol?: number
  readonly atol?: number
  readonly key?: Key
  /** Also compare the VJP (default true). */
  readonly grad?: boolean
  readonly wrt?: readonly number[]
}

/** Compares a backend with `ref`, forward and VJP; tolerances are scaled by the magnitude of the result. */
export const checkParity = async (
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly HostTensor[],
  backend: Backend<any>,
  opts: ParityOptions = {},
): Promise<CheckResult> => {
  const rtol = opts.rtol ?? 1e-4
  const atol = opts.atol ?? 1e-4
  const wrt = opts.wrt ?? inputs.map((_, i) => i)
  const c32 = inputs.map((x) => fromData(Float32Array.from(x.data), x.shape))
  const c64 = c32.map(f64) // identical values on both sides
  const build = (xs: HostTensor[]) => {
    const { out, vjp: back } = vjp((ts: Tensor[]) => f(...ts), xs)
    const c = normalArray(opts.key ?? mkKey(1), sizeOf(out.shape))
    if (opts.grad === false) return [out]
    const g = back(fromData(Float32Array.from(c), out.shape))
    return [out, ...wrt.map((i) => g[i])]
  }
  const want = runSync(build(c64), { backend: refBackend() })
  const got = await run(build(c32), { backend })
  for (let k = 0; k < want.length; k++) {
    const w = want[k].data
    const g = got[k].data
    let mag = 0
    for (let i = 0; i < w.length; i++) mag = Math.max(mag, Math.abs(w[i]))
    for (let i = 0; i < w.length; i++) {
      const err = Math.abs(w[i] - g[i])
      if (!(err <= atol * Math.max(1, mag) + rtol * Math.abs(w[i])))
        return {
          ok: false,
          numeric: w[i],
          analytic: g[i],
          message: `${backend.name} vs ref: ${k === 0 ? 'forward' : `vjp of input ${wrt[k - 1]}`} differs at flat index ${i}: ref ${w[i]} vs ${backend.name} ${g[i]} (shape ${fmt(want[k].shape)})`,
        }
    }
  }
  return { ok: true, numeric: 0, analytic: 0, message: 'ok' }
}

/** Integers in [min, max], four times in five from [max(min, 2), max]: sizes of 1 stay possible but rare. */
export const arbDim = (min: number, max: number): fc.Arbitrary<number> =>
  max < 2 || min >= 2
    ? fc.integer({ min, max })
    : fc.oneof({ arbitrary: fc.integer({ min: 2, max }), weight: 4 }, { arbitrary: fc.integer({ min, max }), weight: 1 })

/**
 * Shapes of rank in [minRank, maxRank] with dimensions in [1, maxDim]. Ranks of at least min(2, maxRank) and
 * dimensions of at least 2 are favoured (four draws in five), so most draws have several elements per axis.
 */
export const arbShape = (opts: { minRank?: number; maxRank?: number; maxDim?: number } = {}): fc.Arbitrary<number[]> => {
  const lo = opts.minRank ?? 0
  const hi = opts.maxRank ?? 3
  const dim = arbDim(1, opts.maxDim ?? 4)
  const rank =
    lo >= Math.min(2, hi)
      ? fc.integer({ min: lo, max: hi })
      : fc.oneof(
          { arbitrary: fc.integer({ min: Math.min(2, hi), max: hi }), weight: 4 },
          { arbitrary: fc.integer({ min: lo, max: hi }), weight: 1 },
        )
  return rank.chain((r) => fc.array(dim, { minLength: r, maxLength: r }))
}

/** A float64 host tensor of the given shape with values in [min, max] (never NaN, infinities or subnormals). */
export const arbTensor = (shape: Shape, opts: { min?: number; max?: number } = {}): fc.Arbitrary<HostTensor> => {
  const min = opts.min ?? -2
  const max = opts.max ?? 2
  return fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((ints) =>
    fromData(
      Float64Array.from(ints, (v) => min + ((max - min) * v) / 1_000_000),
      shape,
    ),
  )
}

/** Shapes that broadcast with `shape` (some axes set to 1, one time in four; some leading axes dropped, rarely all). */
export const arbBroadcastOf = (shape: Shape): fc.Arbitrary<number[]> =>
  fc
    .tuple(
      // dropping every axis (a scalar) or setting an axis to 1 stays possible but rare
      shape.length === 0
        ? fc.constant(0)
        : fc.oneof(
            { arbitrary: fc.integer({ min: 0, max: shape.length - 1 }), weight: 4 },
            { arbitrary: fc.integer({ min: 0, max: shape.length }), weight: 1 },
          ),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: shape.length, maxLength: shape.length }),
    )
    .map(([drop, ones]) => shape.map((d, i) => (ones[i] === 0 ? 1 : d)).slice(drop))

/** conv2d configurations (NHWC / HWIO) small enough for float64 finite differences. */
export const arbConvConfig = (): fc.Arbitrary<{
  n: number
  h: number
  w: number
  cin: number
  cout: number
  kh: number
  kw: number
  stride: [number, number]
  padding: 'same' | 'valid'
}> =>
  fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 3, max: 6 }),
    w: fc.integer({ min: 3, max: 6 }),
    cin: arbDim(1, 3),
    cout: arbDim(1, 3),
    kh: arbDim(1, 3),
    kw: arbDim(1, 3),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.constantFrom('same' as const, 'valid' as const),
  })

/** Pooling window, strides and padding: rectangular windows, unequal strides, 'same', 'valid' or explicit pads. */
export interface PoolConfig {
  readonly n: number
  readonly h: number
  readonly w: number
  readonly c: number
  readonly size: [number, number]
  readonly strides: [number, number]
  /** 'same', 'valid' or explicit `[[top, bottom], [left, right]]`, each pad smaller than the window along its axis. */
  readonly padding: 'same' | 'valid' | [[number, number], [number, number]]
}

/** Pooling configurations (spatial sizes mostly ≥ 3, so windows, strides and pads all matter). */
export const arbPoolConfig = (): fc.Arbitrary<PoolConfig> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      h: arbDim(2, 6),
      w: arbDim(2, 6),
      c: fc.integer({ min: 1, max: 3 }),
      size: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    })
    .chain((c) =>
      fc
        .oneof(
          fc.constantFrom('same' as const, 'valid' as const),
          fc
            .tuple(
              fc.integer({ min: 0, max: c.size[0] - 1 }),
              fc.integer({ min: 0, max: c.size[0] - 1 }),
              fc.integer({ min: 0, max: c.size[1] - 1 }),
              fc.integer({ min: 0, max: c.size[1] - 1 }),
            )
            .map(([t, b, l, r]): [[number, number], [number, number]] => [
              [t, b],
              [l, r],
            ]),
        )
        .map((padding): PoolConfig => ({ ...c, padding })),
    )

export { fc }
