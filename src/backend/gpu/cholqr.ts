/**
 * `qr` of a tall panel (the randomized SVD's m × l sketches) as Cholesky-QR2 on the device: G = YᵀY and Q = Y R⁻¹
 * are tiled matmuls; only the l × l Cholesky factor and its inverse are computed on the host (float64), so a
 * panel costs l × l read-backs and uploads instead of the whole m × l panel each way (the Householder host
 * kernel). One Cholesky-QR pass loses orthogonality as κ(Y)²·u; the second pass over the nearly orthonormal Q
 * restores it to u (Yamamoto et al. 2015). When G is too ill-conditioned for a float32 Cholesky, the first pass is
 * shifted (G + sI, Fukaya et al. 2020, shifted Cholesky-QR3), which brings κ down so that two more passes finish.
 * Q spans the same columns as the host kernel's; its columns' signs follow R's positive diagonal (Householder's may
 * differ), which every consumer of the panel (B = QᵀA, Q Qᵀ) is blind to.
 */
import type { KernelCall } from '../backend.ts'
import type { DeviceHandle, WgslDevice } from './wgsl/device.ts'
import { gemmSpec } from './wgsl/ops.ts'

/**
 * Panels of at least this many entries run as Cholesky-QR2 on the device; smaller ones keep the host's Householder
 * (its read-back is a few floats). The randomized SVD's panels (long side × l and short side × l, l = rank +
 * oversampling, 26 by default) are all above it, the short-side ones included (e.g. 32 × 26), so none of them is
 * read back whole.
 */
export const CHOLQR_MIN_SIZE = 64

/** Whether a qr of [m, l] runs as device Cholesky-QR (any panel taller than square: the shifted pass handles κ up to ~1/u). */
export const deviceQr = (m: number, l: number): boolean => m > l && m * l >= CHOLQR_MIN_SIZE

/** f32 unit roundoff. */
const U32 = 2 ** -24

/**
 * R⁻¹ for G = RᵀR (float64 Cholesky of the symmetrised l × l G, plus `shift` on the diagonal), or undefined on
 * breakdown (a pivot ≤ 0). Upper triangular, row-major, rounded to f32.
 */
export const cholInverse = (g: ArrayLike<number>, l: number, shift: number): Float32Array | undefined => {
  const r = new Float64Array(l * l)
  for (let j = 0; j < l; j++) {
    for (let i = 0; i <= j; i++) {
      let s = 0.5 * (g[i * l + j] + g[j * l + i]) + (i === j ? shift : 0)
      for (let k = 0; k < i; k++) s -= r[k * l + i] * r[k * l + j]
      if (i === j) {
        if (!(s > 0)) return undefined
        r[j * l + j] = Math.sqrt(s)
      } else r[i * l + j] = s / r[i * l + i]
    }
  }
  // back substitution: R X = I, X upper triangular
  const x = new Float64Array(l * l)
  for (let c = 0; c < l; c++)
    for (let i = c; i >= 0; i--) {
      let s = i === c ? 1 : 0
      for (let k = i + 1; k <= c; k++) s -= r[i * l + k] * x[k * l + c]
      x[i * l + c] = s / r[i * l + i]
    }
  return Float32Array.from(x)
}

/** The device and buffer hooks Cholesky-QR needs (the gpu backend's own). */
export interface CholQrHooks {
  readonly dev: WgslDevice
  /** Frees an intermediate handle. */
  readonly free: (h: DeviceHandle) => void
  /** Counts one l × l factorisation on the host (a read-back and an upload). */
  readonly hostOp: () => void
}

const call = (inShapes: number[][], outShape: number[], transA: boolean): KernelCall => ({
  op: 'matmul',
  attrs: { transA, transB: false },
  inShapes,
  outShape,
})

/** Q of the m × l panel y (m ≥ 4l): two Cholesky-QR passes, three when the first must be shifted; returns m·l floats. */
export const cholQr2 = async (h: CholQrHooks, y: DeviceHandle, m: number, l: number): Promise<DeviceHandle> => {
  const gram = gemmSpec(
    call(
      [
        [m, l],
        [m, l],
      ],
      [l, l],
      true,
    ),
  )!
  const apply = gemmSpec(
    call(
      [
        [m, l],
        [l, l],
      ],
      [m, l],
      false,
    ),
  )!
  let q = y
  let passes = 2
  for (let pass = 0; pass < passes; pass++) {
    const gh = await h.dev.gemm(gram, q, q, l * l)
    const g = await h.dev.read(gh, l * l)
    h.free(gh)
    h.hostOp()
    let trace = 0
    for (let i = 0; i < l; i++) trace += Math.abs(g[i * l + i])
    // a float32 Cholesky needs κ(G) well below 1/u: else shift the first pass and add one (κ(Y R⁻¹) ≤ ~1/√(shift))
    let rinv = pass === 0 ? cholInverse(g, l, 0) : undefined
    if (pass === 0 && (rinv === undefined || !wellConditioned(rinv, trace, l))) {
      rinv = cholInverse(g, l, 11 * (m * l + l * (l + 1)) * U32 * trace)
      passes = 3
    }
    rinv ??= cholInverse(g, l, 0) ?? cholInverse(g, l, l * U32 * trace)
    if (!rinv) throw new Error(`gpu backend: qr of a ${m} × ${l} panel: its Gram matrix is not positive definite (non-finite input?)`)
    const rh = await h.dev.upload(rinv)
    const next = await h.dev.gemm(apply, q, rh, m * l)
    h.free(rh)
    if (q !== y) h.free(q)
    q = next
  }
  return q
}

/** κ(G) = κ(R)² estimated by ‖G‖·‖R⁻¹‖²_F ≤ 1e5 (a float32 Gram loses about κ(G)·u of orthogonality per pass). */
const wellConditioned = (rinv: Float32Array, trace: number, l: number): boolean => {
  let f = 0
  for (let i = 0; i < l * l; i++) f += rinv[i] * rinv[i]
  return Number.isFinite(f) && trace * f <= 1e5
}
