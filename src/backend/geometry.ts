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
