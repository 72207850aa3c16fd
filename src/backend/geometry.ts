import { sizeOf } from '../tensor/shape.ts'
import type { KernelCall } from './backend.ts'

/**
 * Operand geometry of a batched, optionally transposed matmul call (shared by every backend):
 * `[...B, m, k] × [...B, k, n] → [...B, m, n]`, with the strides of A over (row, p) and of B over (p, col).
 */
export const matmulDims = (call: KernelCall) => {
  const [sa] = call.inShapes
  const r = sa.length
  const transA = !!call.attrs.transA
  const transB = !!call.attrs.transB
  const m = call.outShape[r - 2]
  const n = call.outShape[r - 1]
  const k = transA ? sa[r - 2] : sa[r - 1]
  const batch = sizeOf(sa.slice(0, -2))
  const [ai, ap] = transA ? [1, m] : [k, 1]
  const [bp, bj] = transB ? [1, k] : [n, 1]
  return { m, n, k, batch, transA, transB, ai, ap, bp, bj }
}

/** Window geometry of a pooling call over NHWC input `x` (attrs `size`, `strides`, `pads` = [t, b, l, r]). */
export const poolDims = (call: KernelCall, x: readonly number[]) => {
  const [kh, kw] = call.attrs.size as number[]
  const [sh, sw] = call.attrs.strides as number[]
  const [pt, pb, pl, pr] = call.attrs.pads as number[]
  const [n, h, w, c] = x
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1
  return { kh, kw, sh, sw, pt, pb, pl, pr, n, h, w, c, oh, ow }
}
