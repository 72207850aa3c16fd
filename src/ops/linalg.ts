/**
 * Small dense factorization primitives (host kernels; k × k or m × l panels, never the big operands):
 * `qr` (thin Householder Q) and `psdPow` (spectral power of a symmetric PSD matrix, rank-truncated and
 * pseudo-inverse safe). The heavy products around them are `matmul` nodes, so they run on any backend.
 */
import { bind, expectShape, lift, type Primitive, type Tensor, type TensorLike } from '../autodiff/graph.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'

/** Q of the thin QR of an m × n matrix (m ≥ n). Not differentiable (no VJP): used for range finding only. */
export const qrPrim: Primitive = {
  name: 'qr',
  shape: ([s]) => {
    expectShape(s.length === 2, 'qr', 'expects a matrix', [s])
    expectShape(s[0] >= s[1], 'qr', 'needs rows ≥ columns (thin QR)', [s])
    return s
  },
}

/** Thin QR: the m × n factor Q with orthonormal columns spanning the columns of x (m ≥ n). */
export const qr = (x: TensorLike): Tensor => bind(qrPrim, [x])

/** Attributes of psdPow: exponent, how many of the largest eigenpairs to keep, relative σ cut-off. */
export interface PsdPowOptions {
  /** Keep at most this many of the largest eigenpairs (default all). */
  readonly rank?: number
  /** Eigenvalues λ ≤ rcond²·λ₁ count as zero (default: the backend's precision floor, 1e-6 ref, 1e-3 cpu). */
  readonly rcond?: number
}

const psdShape =
  (name: string) =>
  (shapes: readonly (readonly number[])[], attrs: Record<string, unknown>): readonly number[] => {
    const [s] = shapes
    expectShape(s.length === 2 && s[0] === s[1], name, 'expects a square (symmetric PSD) matrix', [s])
    shapes.slice(1).forEach((t) => {
      expectShape(t.length === 2 && t[0] === s[0] && t[1] === s[1], name, 'cotangent must match the input', shapes)
    })
    const p = attrs.power
    if (typeof p !== 'number' || !Number.isFinite(p)) throw new ShapeError(`${name}: power must be a finite number, got ${String(p)}`)
    return s
  }

/** VJP of psdPow (Daleckii–Krein): inputs g, dy; not itself differentiable. */
export const psdPowVjpPrim: Primitive = { name: 'psdPowVjp', shape: psdShape('psdPowVjp') }

/** G^p on the kept eigenspace of a symmetric PSD G (zero elsewhere); VJP by the Daleckii–Krein formula. */
export const psdPowPrim: Primitive = {
  name: 'psdPow',
  shape: psdShape('psdPow'),
  vjp: (dy, [g], _y, attrs) => [bind(psdPowVjpPrim, [g, dy], attrs)],
}

/**
 * [k, k] → [k, k]: Σᵢ λᵢᵖ vᵢvᵢᵀ over the kept eigenpairs of the symmetric PSD matrix g (see PsdPowOptions).
 * With p = −½ on a Gram matrix WᵀW this is the pseudo-inverse square root of the polar factor W (WᵀW)^{−½}.
 */
export const psdPow = (g: TensorLike, power: number, opts: PsdPowOptions = {}): Tensor => {
  const t = lift(g)
  if (opts.rank !== undefined && !(Number.isInteger(opts.rank) && opts.rank >= 1))
    throw new ShapeError(`psdPow: rank must be a positive integer, got ${opts.rank} (input ${fmt(t.shape)})`)
  if (opts.rcond !== undefined && !(opts.rcond >= 0 && opts.rcond < 1))
    throw new ShapeError(`psdPow: rcond must be in [0, 1), got ${opts.rcond}`)
  return bind(psdPowPrim, [t], {
    power,
    ...(opts.rank !== undefined ? { rank: opts.rank } : {}),
    ...(opts.rcond !== undefined ? { rcond: opts.rcond } : {}),
  })
}
