/**
 * Small dense factorization primitives (host kernels; k × k or m × l panels, never the big operands):
 * `qr` (thin Householder Q) and `eigh` (symmetric eigen-decomposition). Both VJPs are written with ops
 * on the primitives' own outputs, so they are differentiable to any order. `psdPow` is a composite of
 * `eigh`. The heavy products around them are `matmul` nodes, so they run on any backend.
 */
import { bind, constant, expectShape, lift, type Primitive, type Tensor, type TensorLike } from '../graph/graph.ts'
import { fromData } from '../tensor/host.ts'
import { fmt, ShapeError, shapesEqual } from '../tensor/shape.ts'
import { abs, add, div, greater, lessEqual, maximum, mul, neg, pow, reciprocal, relu, sub, where } from './elementwise.ts'
import { matmul } from './matmul.ts'
import { reshape, slice, transpose } from './shape.ts'

/** A float64 constant (a plain number would be lifted to float32 and cost the ref oracle 7 digits). */
const f64 = (v: number): Tensor => constant(fromData(new Float64Array([v]), []))

/** A constant k × k 0/1 mask with entries pick(i, j). */
const mask = (k: number, pick: (i: number, j: number) => boolean): Tensor =>
  constant(
    fromData(
      Float64Array.from({ length: k * k }, (_, t) => (pick(Math.floor(t / k), t % k) ? 1 : 0)),
      [k, k],
    ),
  )

/** ½ (X + Xᵀ) for a square X. */
const sym = (x: Tensor): Tensor => mul(add(x, transpose(x)), f64(0.5))

/** U X Uᵀ. */
const sandwich = (u: Tensor, x: Tensor): Tensor => matmul(matmul(u, x), u, { transB: true })

/**
 * Symmetric eigen-decomposition, packed: [k, k] → [k + 1, k], row 0 the eigenvalues λ (descending), rows 1..k
 * the eigenvectors U as columns (each signed so its largest-|·| entry is positive). An optional second input
 * is the low part of a double-float matrix (`gram`'s lo: A = hi + lo, combined in float64 by the kernel). The
 * kernel reads ½(A + Aᵀ), and reports eigenvalues with |λ| ≤ floor²·max|λ| as exactly 0, floor being the
 * backend's precision floor for that input (backend/host/linalg-kernels.ts: float32 backends 1e-3 for one
 * float32 matrix, 1e-5 for a float64 Gram as hi + lo; ref 1e-6).
 * VJP (distinct eigenvalues): Ā = sym(U (diag(λ̄) + F ∘ UᵀŪ) Uᵀ), F_ij = 1/(λ_j − λ_i), F_ii = 0.
 */
export const eighPrim: Primitive = {
  name: 'eigh',
  shape: ([s, lo]) => {
    expectShape(s.length === 2 && s[0] === s[1], 'eigh', 'expects a square (symmetric) matrix', [s])
    if (lo) expectShape(shapesEqual(lo, s), 'eigh', 'the low part must have the shape of the matrix', [s, lo])
    return [s[0] + 1, s[0]]
  },
  vjp: (dy, inputs, y) => {
    const k = y.shape[1]
    const { values: lam, vectors: u } = unpackEigh(y)
    const dLam = slice(dy, [0, 0], [1, k])
    const dU = slice(dy, [1, 0], [k, k])
    const off = mask(k, (i, j) => i !== j)
    // λ_j − λ_i; the diagonal is replaced by 1 before the reciprocal so it never divides by 0
    const gap = sub(lam, reshape(lam, [k, 1]))
    const f = where(off, reciprocal(where(off, gap, f64(1))), f64(0))
    const inner = add(
      mul(
        mask(k, (i, j) => i === j),
        dLam,
      ),
      mul(f, matmul(u, dU, { transA: true })),
    )
    const da = sym(sandwich(u, inner))
    return inputs.map(() => da)
  },
}

/** Splits eigh's packed [k + 1, k] output into values [1, k] (a row, for broadcasting) and vectors [k, k]. */
const unpackEigh = (e: Tensor): { values: Tensor; vectors: Tensor } => {
  const k = e.shape[1]
  return { values: slice(e, [0, 0], [1, k]), vectors: slice(e, [1, 0], [k, k]) }
}

/** [k, k] → values [k] descending and vectors [k, k] (columns) of the symmetric part of x; differentiable (distinct λ). */
export const symEig = (x: TensorLike): { values: Tensor; vectors: Tensor } => {
  const e = bind(eighPrim, [x])
  const { values, vectors } = unpackEigh(e)
  return { values: reshape(values, [e.shape[1]]), vectors }
}

/**
 * Q of the thin QR of an m × n matrix (m ≥ n, full column rank), Householder signs. VJP (Q only, with
 * R = QᵀA, M = −Q̄ᵀQ): Ā = (Q̄ + Q copyltu(M)) R^{−ᵀ}, copyltu(M) = tril(M) + tril(M, −1)ᵀ, and
 * R^{−ᵀ} = R (RᵀR)^{−1} with the inverse from `psdPow` (all ops, so differentiable again).
 */
export const qrPrim: Primitive = {
  name: 'qr',
  shape: ([s]) => {
    expectShape(s.length === 2, 'qr', 'expects a matrix', [s])
    expectShape(s[0] >= s[1], 'qr', 'needs rows ≥ columns (thin QR)', [s])
    return s
  },
  vjp: (dq, [a], q) => {
    const n = q.shape[1]
    const r = matmul(q, a, { transA: true })
    const m = neg(matmul(dq, q, { transA: true }))
    const copyltu = add(
      mul(
        m,
        mask(n, (i, j) => i >= j),
      ),
      transpose(
        mul(
          m,
          mask(n, (i, j) => i > j),
        ),
      ),
    )
    const b = add(dq, matmul(q, copyltu))
    const rInvT = matmul(r, psdPow(matmul(r, r, { transA: true }), -1))
    return [matmul(b, rInvT)]
  },
}

/** Thin QR: the m × n factor Q with orthonormal columns spanning the columns of x (m ≥ n). */
export const qr = (x: TensorLike): Tensor => bind(qrPrim, [x])

/** Attributes of psdPow: how many of the largest eigenpairs to keep, relative σ cut-off. */
export interface PsdPowOptions {
  /** Keep at most this many of the largest eigenpairs (default all). */
  readonly rank?: number
  /** Eigenvalues λ ≤ rcond²·λ₁ count as zero (default 0 on top of eigh's backend floor, see eighPrim). */
  readonly rcond?: number
  /** Low part of a double-float g (g + lo is the matrix, e.g. `gram`'s hi and lo): eigh then applies its float64-Gram floor. */
  readonly lo?: TensorLike
}

/**
 * [k, k] → [k, k]: Σᵢ f(λᵢ) uᵢuᵢᵀ over the eigenpairs of the symmetric PSD matrix g, f(λ) = λᵖ on the kept
 * pairs (the `rank` largest with λ > rcond²·λ₁ and λ > 0) and 0 on the rest, so negative powers are
 * pseudo-inverse powers. With p = −½ on a Gram matrix WᵀW this gives the polar factor W (WᵀW)^{+½}.
 * VJP (Daleckii–Krein, written with ops on eigh's outputs): Ḡ = U (L ∘ Uᵀ sym(Ȳ) U) Uᵀ with the Löwner
 * matrix L_ij = (f(λᵢ) − f(λⱼ)) / (λᵢ − λⱼ), or f′ at (near-)ties: finite at repeated eigenvalues, unlike
 * differentiating through eigh.
 */
export const psdPow = (g: TensorLike, power: number, opts: PsdPowOptions = {}): Tensor => psdPows(g, [power], opts)[0]

/** psdPow for several powers of one g ([k, k] → one [k, k] per power) from a single eigen-decomposition. */
export const psdPows = (g: TensorLike, powers: readonly number[], opts: PsdPowOptions = {}): Tensor[] => {
  const t = lift(g)
  expectShape(t.shape.length === 2 && t.shape[0] === t.shape[1], 'psdPow', 'expects a square (symmetric PSD) matrix', [t.shape])
  for (const power of powers)
    if (!Number.isFinite(power)) throw new ShapeError(`psdPow: power must be a finite number, got ${String(power)}`)
  if (opts.rank !== undefined && !(Number.isInteger(opts.rank) && opts.rank >= 1))
    throw new ShapeError(`psdPow: rank must be a positive integer, got ${opts.rank} (input ${fmt(t.shape)})`)
  if (opts.rcond !== undefined && !(opts.rcond >= 0 && opts.rcond < 1))
    throw new ShapeError(`psdPow: rcond must be in [0, 1), got ${opts.rcond}`)
  const k = t.shape[0]
  const rank = Math.min(opts.rank ?? k, k)
  const rc = opts.rcond ?? 0
  const lo = opts.lo === undefined ? undefined : lift(opts.lo)
  if (lo) expectShape(shapesEqual(lo.shape, t.shape), 'psdPow', 'opts.lo must have the shape of g', [t.shape, lo.shape])
  const ins = lo ? [t, lo] : [t]
  // one eigh node for every power (a k × k eigen-decomposition is the costly part for large k)
  const { values: lam, vectors: u } = unpackEigh(bind(eighPrim, ins))
  const top = relu(slice(lam, [0, 0], [1, 1]))
  const inRank = constant(
    fromData(
      Float64Array.from({ length: k }, (_, i) => (i < rank ? 1 : 0)),
      [1, k],
    ),
  )
  const kept = mul(inRank, greater(lam, mul(top, f64(rc * rc))))
  // the power is taken on kept eigenvalues only (λᵖ of a dropped 0 or negative λ would be inf / NaN)
  const safe = where(kept, lam, f64(1))
  return powers.map((power) => {
    const p = f64(power)
    const f = where(kept, pow(safe, p), f64(0))
    // U diag(f) Uᵀ: scaling U's columns by the row f
    const y = matmul(mul(u, f), u, { transB: true })
    const prim: Primitive = {
      name: 'custom:psdPow',
      alias: true,
      shape: ([s]) => s,
      vjp: (dy) => {
        const gapRaw = sub(reshape(lam, [k, 1]), lam) // λᵢ − λⱼ
        const tie = lessEqual(abs(gapRaw), mul(maximum(top, f64(1e-300)), f64(1e-9)))
        const quot = div(sub(reshape(f, [k, 1]), f), where(tie, f64(1), gapRaw))
        const both = mul(reshape(kept, [k, 1]), kept)
        const mid = where(both, mul(add(reshape(lam, [k, 1]), lam), f64(0.5)), f64(1))
        const deriv = where(both, mul(p, pow(mid, f64(power - 1))), f64(0))
        const l = where(tie, deriv, quot)
        const inner = mul(l, matmul(matmul(u, sym(dy), { transA: true }), u))
        const dg = sandwich(u, inner)
        return [null, ...ins.map(() => dg)]
      },
    }
    return bind(prim, [y, ...ins])
  })
}

/**
 * Gram matrix AᵀA of the K = n·c columns of A = [x_0 | … | x_{n−1}] (each x [D, c], all alike), accumulated in
 * float64 in one read of the inputs and scaled by s, a power of two near the largest column norm, so that it
 * neither overflows nor underflows: [D, c]ⁿ → [2K + 1, K], rows 0..K−1 hi and K..2K−1 lo with hi + lo = AᵀA/s²
 * to ~48 bits on float32 backends (lo = 0 on ref), row 2K = s. Any K: cpu runs it as a WASM f64x2 SYRK, ref and
 * gpu as double-float WGSL (src/backend/gpu/wgsl/gram.ts for K ≤ 4, tiled syrk.ts beyond; more than 3 inputs on the host). VJP (s is
 * piecewise constant, lo a rounding residual of zero derivative): x̄_u = Σ_t x_t·C_tu with C = (Ḡ_hi + Ḡ_hiᵀ)/s².
 */
export const gramPrim: Primitive = {
  name: 'gram',
  shape: (shapes) => {
    const [s0] = shapes
    expectShape(shapes.length > 0 && s0.length === 2, 'gram', 'expects one or more matrices [D, c]', shapes)
    expectShape(
      shapes.every((s) => shapesEqual(s, s0)),
      'gram',
      'matrices differ in shape',
      shapes,
    )
    const k = shapes.length * s0[1]
    return [2 * k + 1, k]
  },
  vjp: (dy, xs, y) => {
    const k = y.shape[1]
    const { scale } = unpackGram(y)
    // lo is a rounding residual: treated as constant, hi carries the derivative (consumers read hi + lo)
    const g = slice(dy, [0, 0], [k, k])
    return combineColumns(xs, div(add(g, transpose(g)), mul(scale, scale)))
  },
}

/** Packed Gram matrix of the columns of [x_0 | … | x_{n−1}] (see gramPrim): n × [D, c] → [2K + 1, K], K = n·c. */
export const gram = (xs: readonly TensorLike[]): Tensor => {
  if (xs.length === 0) throw new ShapeError('gram: needs at least one matrix')
  return bind(gramPrim, xs)
}

/** Splits gram's packed output [2K + 1, K] into hi [K, K], lo [K, K] (hi + lo = AᵀA/s²) and the scale s []. */
export const unpackGram = (g: Tensor): { hi: Tensor; lo: Tensor; scale: Tensor } => {
  const k = g.shape[1]
  return { hi: slice(g, [0, 0], [k, k]), lo: slice(g, [k, 0], [k, k]), scale: reshape(slice(g, [2 * k, 0], [1, 1]), []) }
}

/**
 * Blocks of A·C for A = [x_0 | … | x_{n−1}] (each x [D, c]) and C [K, K], K = n·c: returns n tensors [D, c],
 * Σ_t x_t·C[t-block, u-block]. For c = 1 these are scalar-weighted sums, one fused elementwise loop per output.
 */
export const combineColumns = (xs: readonly Tensor[], cm: Tensor): Tensor[] => {
  const c = xs[0].shape[1]
  expectShape(cm.shape[0] === xs.length * c && cm.shape[1] === xs.length * c, 'combineColumns', `needs a ${xs.length * c}-square matrix`, [
    cm.shape,
  ])
  const term = (t: number, u: number): Tensor =>
    c === 1 ? mul(xs[t], reshape(slice(cm, [t, u], [1, 1]), [])) : matmul(xs[t], slice(cm, [t * c, u * c], [c, c]))
  return xs.map((_, u) => xs.map((_, t) => term(t, u)).reduce((a, b) => add(a, b)))
}
