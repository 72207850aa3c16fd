/** Batched matrix product with optional transposes: [...B, m, k] × [...B, k, n] → [...B, m, n]. */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'
import { broadcastTo, reshape } from './shape.ts'

export const matmulPrim: Primitive = {
  name: 'matmul',
  shape: ([a, b], { transA, transB }) => {
    expectShape(a.length >= 2 && b.length >= 2, 'matmul', 'operands must have rank ≥ 2', [a, b])
    expectShape(a.length === b.length && a.slice(0, -2).every((d, i) => d === b[i]), 'matmul', 'batch dimensions differ', [a, b])
    const [m, k1] = transA ? [a[a.length - 1], a[a.length - 2]] : [a[a.length - 2], a[a.length - 1]]
    const [k2, n] = transB ? [b[b.length - 1], b[b.length - 2]] : [b[b.length - 2], b[b.length - 1]]
    expectShape(k1 === k2, 'matmul', 'inner dimensions differ', [a, b])
    return [...a.slice(0, -2), m, n]
  },
  vjp: (dy, [a, b], _y, attrs) => {
    const tA = !!attrs.transA
    const tB = !!attrs.transB
    const mm = (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => bind(matmulPrim, [x, y], { transA: ta, transB: tb })
    const da = tA ? mm(b, dy, tB, true) : mm(dy, b, false, !tB)
    const db = tB ? mm(dy, a, true, tA) : mm(a, dy, !tA, false)
    return [da, db]
  },
}

/**
 * Matrix product `op(a) · op(b)` where op transposes the last two axes when asked.
 * A batched `a` times a rank-2 `b` shares `b` across the batch (folded into rows: one GEMM; with `transA`, broadcast).
 */
export const matmul = (x: TensorLike, y: TensorLike, opts: { transA?: boolean; transB?: boolean } = {}): Tensor => {
  const a = lift(x)
  const b = lift(y)
  const transA = !!opts.transA
  const transB = !!opts.transB
  if (a.shape.length < 2 || b.shape.length < 2)
    throw new ShapeError(`matmul: operands must have rank ≥ 2: ${fmt(a.shape)} × ${fmt(b.shape)}`)
  if (a.shape.length > 2 && b.shape.length === 2) {
    if (transA) {
      // op(a) is a per-batch transpose, so the batch cannot fold into rows: b is shared by broadcasting
      const ka = a.shape[a.shape.length - 2]
      const kb = b.shape[transB ? 1 : 0]
      if (ka !== kb)
        throw new ShapeError(`matmul: inner dimensions differ: ${fmt(a.shape)} (transA) × ${fmt(b.shape)}${transB ? ' (transB)' : ''}`)
      return bind(matmulPrim, [a, broadcastTo(b, [...a.shape.slice(0, -2), ...b.shape])], { transA, transB })
    }
    const k = a.shape[a.shape.length - 1]
    const y2 = bind(matmulPrim, [reshape(a, [-1, k]), b], { transA, transB })
    return reshape(y2, [...a.shape.slice(0, -1), y2.shape[1]])
  }
  return bind(matmulPrim, [a, b], { transA, transB })
}
