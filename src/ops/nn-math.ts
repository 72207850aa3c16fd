/** Neural-network math as composites (no kernels of their own): softmax, dense layer, batch-norm arithmetic. */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'
import { add, exp, mul, reciprocal, sqrt, sub } from './elementwise.ts'
import { matmul } from './matmul.ts'
import { logsumexp, mean, variance } from './reduce.ts'
import { reshape } from './shape.ts'

/** log softmax over the last axis, stable: x − logsumexp(x) (the max is shifted out). `[..., C]` → `[..., C]`. */
export const logSoftmax = (x: TensorLike): Tensor => {
  const t = lift(x)
  if (t.shape.length === 0) throw new ShapeError('logSoftmax: input must have rank ≥ 1: []')
  return sub(t, logsumexp(t, -1, true))
}

/** softmax over the last axis: exp(logSoftmax(x)). `[..., C]` → `[..., C]`. */
export const softmax = (x: TensorLike): Tensor => exp(logSoftmax(x))

/** Dense layer: x `[..., Din]` · w `[Din, Dout]` + b `[Dout]` → `[..., Dout]`. */
export const linear = (x: TensorLike, w: TensorLike, b: TensorLike): Tensor => {
  const [xt, wt, bt] = [lift(x), lift(w), lift(b)]
  if (wt.shape.length !== 2 || xt.shape.length < 1 || xt.shape[xt.shape.length - 1] !== wt.shape[0])
    throw new ShapeError(`linear: x [..., Din] and w [Din, Dout] do not match: ${fmt(xt.shape)} × ${fmt(wt.shape)}`)
  if (bt.shape.length !== 1 || bt.shape[0] !== wt.shape[1])
    throw new ShapeError(`linear: bias must be [${wt.shape[1]}] for w ${fmt(wt.shape)}, got ${fmt(bt.shape)}`)
  // matmul needs rank ≥ 2: a single vector goes through as one row
  const y = xt.shape.length === 1 ? reshape(matmul(reshape(xt, [1, -1]), wt), [wt.shape[1]]) : matmul(xt, wt)
  return add(y, bt)
}

/**
 * Batch-norm arithmetic (x − mean) · gamma / sqrt(var + eps) + beta, all broadcast against x (e.g. x `[N,H,W,C]`,
 * the rest `[C]`). Statistics are inputs: the caller chooses batch or running ones.
 */
export const batchNormMath = (x: TensorLike, m: TensorLike, v: TensorLike, gamma: TensorLike, beta: TensorLike, eps = 1e-5): Tensor =>
  add(mul(sub(x, m), mul(gamma, reciprocal(sqrt(add(v, eps))))), beta)

/** Mean and population variance over `axes` (e.g. [0, 1, 2] for NHWC batch norm). */
export const moments = (x: TensorLike, axes: number | readonly number[], keepdims = false): { mean: Tensor; variance: Tensor } => ({
  mean: mean(x, axes, keepdims),
  variance: variance(x, axes, keepdims),
})
