/** Test matrices with controlled spectra (U diag(s) Vᵀ) and small dense helpers in float64. */
import type { HostTensor } from '../../src/index.ts'
import * as ss from '../../src/index.ts'
import { fc } from '../../src/testing/index.ts'

export type Mat = { readonly data: Float64Array; readonly m: number; readonly n: number }

export const host = (a: Mat): HostTensor => ss.fromData(a.data, [a.m, a.n])
export const mat = (t: HostTensor): Mat => ({ data: Float64Array.from(t.data), m: t.shape[0], n: t.shape[1] })

export const matmulH = (a: Mat, b: Mat, transA = false, transB = false): Mat => {
  const m = transA ? a.n : a.m
  const k = transA ? a.m : a.n
  const n = transB ? b.m : b.n
  const out = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++)
        s += (transA ? a.data[p * a.n + i] : a.data[i * a.n + p]) * (transB ? b.data[j * b.n + p] : b.data[p * b.n + j])
      out[i * n + j] = s
    }
  return { data: out, m, n }
}

export const transposeH = (a: Mat): Mat => {
  const out = new Float64Array(a.m * a.n)
  for (let i = 0; i < a.m; i++) for (let j = 0; j < a.n; j++) out[j * a.m + i] = a.data[i * a.n + j]
  return { data: out, m: a.n, n: a.m }
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let e = 0
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]))
  return e
}
export const frob = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0))
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** A random m × k matrix with orthonormal columns (QR of a Gaussian matrix drawn from `seed`). */
export const orthonormal = (seed: number, m: number, k: number): Mat => {
  const g = ss.fromData(ss.normalArray(ss.key(seed), m * k), [m, k])
  return mat(ss.qrDecompose(g).q)
}

/** U diag(s) Vᵀ for the given singular values (s.length ≤ min(m, n)), from a seed. */
export const withSpectrum = (seed: number, m: number, n: number, s: readonly number[]): Mat => {
  const k = s.length
  const u = orthonormal(seed, m, k)
  const v = orthonormal(seed + 7919, n, k)
  const us = { data: u.data.map((x, i) => x * s[i % k]), m, n: k }
  return matmulH(us, v, false, true)
}

/**
 * A matrix shape with a spectrum: `rank` nonzero singular values in [lo, hi], spaced apart by at least
 * 2% of hi (distinct, so U Vᵀ is smooth), the rest exactly 0.
 */
export const arbSpectral = (opts: { maxM?: number; maxN?: number; minN?: number; deficient?: boolean; lo?: number; hi?: number } = {}) =>
  fc
    .record({
      m: fc.integer({ min: 1, max: opts.maxM ?? 7 }),
      n: fc.integer({ min: opts.minN ?? 1, max: opts.maxN ?? 6 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .chain(({ m, n, seed }) => {
      const full = Math.min(m, n)
      return fc
        .tuple(
          fc.integer({ min: opts.deficient ? Math.min(1, full) : full, max: full }),
          fc.array(fc.double({ min: opts.lo ?? 0.2, max: opts.hi ?? 3, noNaN: true }), { minLength: full, maxLength: full }),
        )
        .map(([rank, raw]) => {
          const hi = opts.hi ?? 3
          const s = [...raw].sort((a, b) => b - a).slice(0, rank)
          // enforce a gap of 2% of hi by shifting values up from the smallest (shifting down could push the small
          // ones to zero and silently make a full-rank draw rank-deficient)
          for (let i = s.length - 2; i >= 0; i--) s[i] = Math.max(s[i], s[i + 1] + 0.02 * hi)
          const spectrum = s.filter((x) => x > 0.02 * hi)
          return { m, n, seed, spectrum, a: withSpectrum(seed, m, n, spectrum) }
        })
    })

/** H x for the Householder reflector H = I − 2vvᵀ/‖v‖², applied to the r rows of a row-major r × c matrix in place. */
const reflectRows = (a: Float64Array, r: number, c: number, v: ArrayLike<number>): void => {
  let vv = 0
  for (let i = 0; i < r; i++) vv += v[i] * v[i]
  const w = new Float64Array(c)
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) w[j] += v[i] * a[i * c + j]
  for (let i = 0; i < r; i++) {
    const f = (2 * v[i]) / vv
    for (let j = 0; j < c; j++) a[i * c + j] -= f * w[j]
  }
}

/**
 * M = U diag(s) Vᵀ (m × n, m ≥ n, n a power of two) with s geometric from 1 down to 1/cond, U = H₁H₂H₃[I; 0] and
 * V = G₁G₂G₃·Hadamard/√n (Householder reflectors from `seed`): U Vᵀ and Σs are known exactly in O(m·n) per
 * reflector, no factorization. The Hadamard factor spreads every singular direction over all columns (reflectors
 * alone leave V near I, whose Gram matrix a float32 product gets right entry by entry).
 */
export const knownPolar = (seed: number, m: number, n: number, cond: number): { m: Float64Array; polar: Float64Array; nuclear: number } => {
  const rng = ss.normalArray(ss.key(seed), 3 * (m + n))
  const v = new Float64Array(n * n)
  const h = 1 / Math.sqrt(n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let x = i & j
      let parity = 0
      for (; x; x &= x - 1) parity ^= 1
      v[i * n + j] = parity ? -h : h
    }
  for (let r = 0; r < 3; r++) reflectRows(v, n, n, rng.subarray(r * n, (r + 1) * n))
  const s = Float64Array.from({ length: n }, (_, i) => cond ** (-i / (n - 1)))
  // [diag(s) Vᵀ; 0] and [Vᵀ; 0], then the reflectors of U on both
  const a = new Float64Array(m * n)
  const polar = new Float64Array(m * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      polar[i * n + j] = v[j * n + i]
      a[i * n + j] = s[i] * v[j * n + i]
    }
  for (let r = 0; r < 3; r++) {
    const u = rng.subarray(3 * n + r * m, 3 * n + (r + 1) * m)
    reflectRows(a, m, n, u)
    reflectRows(polar, m, n, u)
  }
  return { m: a, polar, nuclear: s.reduce((x, y) => x + y, 0) }
}
