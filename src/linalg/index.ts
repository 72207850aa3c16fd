/**
 * Linear algebra on traced tensors: polar factor U Vᵀ, nuclear norm ‖M‖* with the U Vᵀ subgradient,
 * randomized range finding (Halko, Martinsson & Tropp 2011). Heavy products are `matmul` nodes (any
 * backend); the float64 Gram (`gram`), the k × k eigen-decomposition (`eigh`, under `psdPow`) and the m × l panel
 * QR (`qr`) are host kernels (cpu runs `gram` as WASM SIMD).
 *
 * Subgradient choice: ∂‖M‖* = { U_r V_rᵀ + Z : U_rᵀZ = 0, Z V_r = 0, ‖Z‖₂ ≤ 1 } (r = rank). We return
 * Z = 0, i.e. U_r V_rᵀ of the nonzero part: singular values σᵢ ≤ rcond·σ₁ contribute 0 (never NaN).
 */
import { constant, lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { runSync, run } from '../autodiff/run.ts'
import { customVjp } from '../autodiff/vjp.ts'
import type { Backend } from '../backend/backend.ts'
import { qrHouseholder, svdJacobi, symEigh } from '../tensor/dense.ts'
import { div, mul } from '../ops/elementwise.ts'
import { combineColumns, gram, psdPow, psdPows, qr, unpackGram } from '../ops/linalg.ts'
import { transpose } from '../ops/shape.ts'
import { matmul } from '../ops/matmul.ts'
import { sum } from '../ops/reduce.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { checkKey, type Key, normal } from '../tensor/prng.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'

/** How a nuclear norm / polar factor is computed. */
export interface SvdOptions {
  /**
   * 'exact': Gram route on the smaller side, M (MᵀM)^{+½} — one float64 Gram pass over M plus a k × k
   * eigen-decomposition, k = min(m, n); for k ≤ 8 (LAF's D × T) this is the thin fast path. 'randomized': Halko
   * sketch truncated to `rank` (exact only when rank(M) ≤ rank). 'auto' (default): exact when min(m, n) ≤ thinMax
   * or no `rank` is given, randomized otherwise; that truncation is reported once per rank by console.warn (an explicit
   * 'randomized' is not).
   */
  readonly method?: 'auto' | 'exact' | 'randomized'
  /** Target rank k of the randomized SVD (when k + oversampling ≥ min(m, n) the sketch would span everything: exact route, untruncated). */
  readonly rank?: number
  /** Extra sketch columns (default 10). */
  readonly oversampling?: number
  /** Power iterations, each re-orthonormalised by QR (default 2). */
  readonly powerIters?: number
  /** PRNG key of the Gaussian sketch (required for the randomized method). */
  readonly key?: Key
  /**
   * Singular values ≤ rcond·σ₁ count as zero (default 0). The backend's precision floor always applies (see eigh):
   * ref 1e-6; cpu/gpu 1e-5 on the exact route (float64 Gram, any min(m, n)), 1e-3 on the randomized route's
   * float32 l × l core.
   */
  readonly rcond?: number
  /** Largest min(m, n) that 'auto' sends to the exact thin path (default 8). */
  readonly thinMax?: number
}

const checkMatrix = (op: string, m: Tensor): void => {
  if (m.shape.length !== 2 || m.shape[0] === 0 || m.shape[1] === 0)
    throw new ShapeError(`${op}: expects a non-empty matrix, got ${fmt(m.shape)}`)
}

/** The pieces every route ends with: value Σσ and polar factor U Vᵀ (built lazily, shares the forward nodes). */
interface Route {
  readonly value: Tensor
  readonly polar: () => Tensor
}

/**
 * The exact route over the columns of A = [x_0 | … | x_{n−1}] (each [D, c]) through the float64 `gram`: value
 * s·tr((G/s²)^{½}) = Σσ and the polar factor's blocks Σ_t x_t·(P/s)_tu with P = (G/s²)^{+½} (= A G^{+½}).
 */
const gramRoute = (xs: readonly Tensor[], rcond: number | undefined) => {
  const { hi, lo, scale } = unpackGram(gram(xs))
  const o = { lo, ...(rcond === undefined ? {} : { rcond }) }
  const [p, root] = psdPows(hi, [-0.5, 0.5], o)
  // Σσ as the trace of G^{½} (a sum of u²·√λ ≥ 0), not ⟨G, G^{+½}⟩: that sum cancels in float32 when σ₂ ≪ σ₁
  const k = hi.shape[0]
  const eye = constant(
    fromData(
      Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0)),
      [k, k],
    ),
  )
  return { value: mul(sum(mul(eye, root)), scale), coef: div(p, scale) }
}

/** The exact route: the float64 Gram of the smaller side (gramRoute over M's columns, or over Mᵀ's when M is wide). */
const exactRoute = (m: Tensor, rcond: number | undefined): Route => {
  const tall = m.shape[0] >= m.shape[1]
  const r = gramRoute([tall ? m : transpose(m)], rcond)
  // U Vᵀ = M (MᵀM)^{+½} (tall) or (MMᵀ)^{+½} M (wide; P is symmetric)
  return { value: r.value, polar: () => (tall ? matmul(m, r.coef) : matmul(r.coef, m)) }
}

/** Resolved randomized-SVD settings for an m × n matrix. */
const sketchSize = (op: string, m: Tensor, opts: SvdOptions): { k: number; l: number } => {
  const k = opts.rank
  if (k === undefined || !Number.isInteger(k) || k < 1)
    throw new ShapeError(`${op}: randomized SVD needs a positive integer rank, got ${k}`)
  const p = opts.oversampling ?? 10
  if (!Number.isInteger(p) || p < 0) throw new ShapeError(`${op}: oversampling must be a non-negative integer, got ${p}`)
  const q = opts.powerIters ?? 2
  if (!Number.isInteger(q) || q < 0) throw new ShapeError(`${op}: powerIters must be a non-negative integer, got ${q}`)
  return { k, l: Math.min(k + p, Math.min(...m.shape)) }
}

/** The sketch's key, checked (a matrix whose sketch would span it is exact and needs none). */
const sketchKey = (op: string, opts: SvdOptions): Key => {
  if (!opts.key) throw new ShapeError(`${op}: randomized SVD needs an explicit PRNG key (opts.key) for its Gaussian sketch`)
  checkKey(op, opts.key, 'opts.key')
  return opts.key
}

/**
 * Randomized range finder for M (m × n): orthonormal Q (long side × l) and B = Qᵀ A (l × short side),
 * where A = M if m ≥ n else Mᵀ, so that A ≈ Q B. Gaussian sketch from `key`, q power iterations with
 * QR between them (unnormalised powers lose the small directions to rounding).
 */
export const randomizedRange = (
  x: TensorLike,
  opts: SvdOptions & { readonly rank: number; readonly key: Key },
): { q: Tensor; b: Tensor; transposed: boolean } => {
  const m = lift(x)
  checkMatrix('randomizedRange', m)
  const { l } = sketchSize('randomizedRange', m, opts)
  sketchKey('randomizedRange', opts)
  const transposed = m.shape[0] < m.shape[1]
  const n = Math.min(...m.shape)
  // products with A = M or Mᵀ, without materialising the transpose
  const aTimes = (y: Tensor) => matmul(m, y, { transA: transposed })
  const aTTimes = (y: Tensor) => matmul(m, y, { transA: !transposed })
  const omega = normal(opts.key, [n, l])
  let q = qr(aTimes(lift(omega)))
  for (let i = 0; i < (opts.powerIters ?? 2); i++) q = qr(aTimes(qr(aTTimes(q))))
  // B = Qᵀ A, l × n
  const b = transposed ? matmul(q, m, { transA: true, transB: true }) : matmul(q, m, { transA: true })
  return { q, b, transposed }
}

/** Ranks already warned about (a truncation under 'auto' is reported once per rank, not once per step). */
const warnedRanks = new Set<string>()

const randomizedRoute = (op: string, m: Tensor, opts: SvdOptions): Route => {
  const { k, l } = sketchSize(op, m, opts)
  if (l >= Math.min(...m.shape)) return exactRoute(m, opts.rcond) // the sketch spans everything: be exact
  const sketch = sketchKey(op, opts)
  const key = `${op}:${k}`
  if ((opts.method ?? 'auto') === 'auto' && !warnedRanks.has(key)) {
    warnedRanks.add(key)
    console.warn(
      `${op}: opts.rank = ${k} under method 'auto' truncates ${fmt(m.shape)} (and any matrix whose shorter side exceeds thinMax and ` +
        `rank + oversampling) to its top ${k} singular values: Σ_{i≤${k}} σᵢ and U_${k} V_${k}ᵀ. Pass method: 'randomized' to ask for ` +
        `that (no warning), or leave out rank for the exact norm.`,
    )
  }
  const { q, b, transposed } = randomizedRange(m, { ...opts, rank: k, key: sketch })
  const c = matmul(b, b, { transB: true }) // l × l, eigenvalues σᵢ² of B
  const p = psdPow(c, -0.5, { rank: k, ...(opts.rcond === undefined ? {} : { rcond: opts.rcond }) })
  return {
    // ⟨C, C_k^{−½}⟩ = Σ_{i≤k} σᵢ
    value: sum(mul(c, p)),
    polar: () => {
      // Q C_k^{−½} B = Q U_k V_kᵀ (C = B Bᵀ = U Σ² Uᵀ)
      const qp = matmul(q, p)
      return transposed ? matmul(b, qp, { transA: true, transB: true }) : matmul(qp, b)
    },
  }
}

const checkRcond = (op: string, rcond: number | undefined): void => {
  if (rcond !== undefined && !(typeof rcond === 'number' && rcond >= 0 && rcond < 1))
    throw new ShapeError(`${op}: opts.rcond must be a number in [0, 1), got ${String(rcond)}`)
}

const route = (op: string, m: Tensor, opts: SvdOptions): Route => {
  checkMatrix(op, m)
  checkRcond(op, opts.rcond)
  if (opts.thinMax !== undefined && !(Number.isInteger(opts.thinMax) && opts.thinMax >= 0))
    throw new ShapeError(`${op}: opts.thinMax must be a non-negative integer, got ${String(opts.thinMax)}`)
  const method = opts.method ?? 'auto'
  if (method !== 'auto' && method !== 'exact' && method !== 'randomized')
    throw new ShapeError(`${op}: unknown method '${String(method)}' (expected 'auto', 'exact' or 'randomized')`)
  return randomizedWanted(m.shape, opts) ? randomizedRoute(op, m, opts) : exactRoute(m, opts.rcond)
}

/** Whether `opts` send a matrix of this shape to the randomized route (which may still be exact: see `drawsSketch`). */
const randomizedWanted = (shape: readonly number[], opts: SvdOptions): boolean => {
  const method = opts.method ?? 'auto'
  const thin = Math.min(...shape) <= (opts.thinMax ?? 8)
  return method === 'randomized' || (method === 'auto' && !thin && opts.rank !== undefined)
}

/**
 * Whether `nuclearNorm` / `polar` of a matrix of this shape under `opts` draw a Gaussian sketch from `opts.key`: the
 * randomized route, unless rank + oversampling reaches the shorter side (then it is exact and reads no key).
 */
export const drawsSketch = (shape: readonly number[], opts: SvdOptions): boolean =>
  randomizedWanted(shape, opts) && (opts.rank ?? 0) + (opts.oversampling ?? 10) < Math.min(...shape)

/**
 * Polar factor U_r V_rᵀ of M ([m, n] → [m, n]) over its nonzero singular values (rank-truncated to
 * `rank` with the randomized method). Differentiable on both routes: qr, eigh and psdPow (Daleckii–Krein) have VJPs written with ops.
 */
export const polar = (x: TensorLike, opts: SvdOptions = {}): Tensor => route('polar', lift(x), opts).polar()

/**
 * Nuclear norm ‖M‖* = Σσᵢ ([m, n] → []), with VJP dy · U Vᵀ (never differentiated through an SVD iteration).
 * With the randomized method both are of the rank-k truncation: Σ_{i≤k} σᵢ and U_k V_kᵀ.
 */
export const nuclearNorm = (x: TensorLike, opts: SvdOptions = {}): Tensor => {
  // the backward builds U Vᵀ from the forward's own Gram/sketch nodes (shared, not recomputed)
  let r: Route | undefined
  return customVjp(
    'nuclearNorm',
    (m) => (r = route('nuclearNorm', m, opts)).value,
    (dy) => [mul(dy, (r as Route).polar())],
  )(x)
}

/**
 * ‖[x_0 | … | x_{n−1}]‖* of matrices x [D, c] side by side ([D, c]ⁿ → []), exact, without materialising the
 * concatenation: one float64 Gram pass over the inputs, and a VJP of one fused weighted sum per input
 * (dy · Σ_t x_t·(G^{+½})_tu). LAF over `stackTasks` goes through here (n tasks, c = 1).
 */
export const nuclearNormOfColumns = (xs: readonly TensorLike[], opts: Pick<SvdOptions, 'rcond'> = {}): Tensor => {
  const ts = xs.map(lift)
  if (ts.length === 0) throw new ShapeError('nuclearNormOfColumns: needs at least one matrix')
  checkRcond('nuclearNormOfColumns', opts.rcond)
  let coef: Tensor | undefined
  return customVjp(
    'nuclearNorm',
    (...cs) => {
      const r = gramRoute(cs, opts.rcond)
      coef = r.coef
      return r.value
    },
    (dy, cs) => combineColumns(cs, mul(dy, coef as Tensor)),
  )(...ts)
}

/** Host thin SVD (one-sided Jacobi, float64): [m, n] → u [m, k], s [k] descending, v [n, k], k = min(m, n). */
export const svd = (x: HostTensor): { u: HostTensor; s: HostTensor; v: HostTensor } => {
  if (x.shape.length !== 2) throw new ShapeError(`svd: expects a matrix, got ${fmt(x.shape)}`)
  const [m, n] = x.shape
  const r = svdJacobi(x.data, m, n)
  return { u: fromData(r.u, [m, r.k]), s: fromData(r.s, [r.k]), v: fromData(r.v, [n, r.k]) }
}

/** Host thin Householder QR (float64): [m, n] (m ≥ n) → q [m, n], r [n, n] upper triangular. */
export const qrDecompose = (x: HostTensor): { q: HostTensor; r: HostTensor } => {
  if (x.shape.length !== 2 || x.shape[0] < x.shape[1])
    throw new ShapeError(`qrDecompose: expects an m × n matrix with m ≥ n, got ${fmt(x.shape)}`)
  const [m, n] = x.shape
  const r = qrHouseholder(x.data, m, n)
  return { q: fromData(r.q, [m, n]), r: fromData(r.r, [n, n]) }
}

/**
 * Host symmetric eigen-decomposition (Jacobi up to 32, tridiagonal QL beyond; float64): [k, k] → values [k]
 * descending, vectors [k, k] (columns).
 */
export const eigh = (x: HostTensor): { values: HostTensor; vectors: HostTensor } => {
  if (x.shape.length !== 2 || x.shape[0] !== x.shape[1]) throw new ShapeError(`eigh: expects a square matrix, got ${fmt(x.shape)}`)
  const k = x.shape[0]
  const r = symEigh(x.data, k)
  return { values: fromData(r.values, [k]), vectors: fromData(r.vectors, [k, k]) }
}

/**
 * Randomized SVD of M ([m, n]) truncated to `rank`: the sketch, power iterations and projections run on
 * `backend`; the l × l eigen-problem on the host. Deterministic given `key`. Returns u [m, k], s [k], v [n, k].
 */
export const randomizedSvd = async (
  x: TensorLike,
  opts: SvdOptions & { readonly rank: number; readonly key: Key; readonly backend: Backend<any> },
): Promise<{ u: HostTensor; s: HostTensor; v: HostTensor }> => {
  const m = lift(x)
  const { q, b, transposed } = randomizedRange(m, opts)
  const c = matmul(b, b, { transB: true })
  const out = { q, b, c }
  const h = opts.backend.sync ? runSync(out, { backend: opts.backend }) : await run(out, { backend: opts.backend })
  const l = c.shape[0]
  const rows = q.shape[0]
  const n = b.shape[1]
  const k = Math.min(opts.rank, l)
  const { values, vectors } = symEigh(h.c.data, l)
  const s = Float64Array.from({ length: k }, (_, i) => Math.sqrt(Math.max(values[i], 0)))
  // U = Q U_B (rows × k); V = Bᵀ U_B Σ⁻¹ (n × k)
  const u = new Float64Array(rows * k)
  const v = new Float64Array(n * k)
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < rows; i++) {
      let acc = 0
      for (let t = 0; t < l; t++) acc += h.q.data[i * l + t] * vectors[t * l + j]
      u[i * k + j] = acc
    }
    const inv = s[j] > 0 ? 1 / s[j] : 0
    for (let i = 0; i < n; i++) {
      let acc = 0
      for (let t = 0; t < l; t++) acc += h.b.data[t * n + i] * vectors[t * l + j]
      v[i * k + j] = acc * inv
    }
  }
  const U = fromData(u, [rows, k])
  const V = fromData(v, [n, k])
  return transposed ? { u: V, s: fromData(s, [k]), v: U } : { u: U, s: fromData(s, [k]), v: V }
}
