/** Reductions over axes: `sum` and `max` are primitives; mean, min, logsumexp are composites. */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { normAxes, type Shape } from '../tensor/shape.ts'
import { stopGradient } from './shape.ts'
import { add, div, equal, exp, log, mul, neg, sub } from './elementwise.ts'
import { broadcastTo, reshape } from './shape.ts'

const reducedShape =
  (name: string) =>
  (shapes: readonly Shape[], attrs: { axes?: unknown }): Shape => {
    const [s] = shapes
    const axes = attrs.axes as number[]
    expectShape(
      Array.isArray(axes) && axes.every((a) => Number.isInteger(a) && a >= 0 && a < s.length),
      name,
      `bad axes ${JSON.stringify(axes)} for shape`,
      [s],
    )
    return s.filter((_, i) => !axes.includes(i))
  }
const keptShape = (x: Shape, axes: readonly number[]): Shape => x.map((d, i) => (axes.includes(i) ? 1 : d))
/** Broadcasts a reduced tensor back to the input shape. */
const expand = (y: Tensor, x: Shape, axes: readonly number[]): Tensor => broadcastTo(reshape(y, keptShape(x, axes)), x)

export const sumPrim: Primitive = {
  name: 'sum',
  shape: reducedShape('sum'),
  vjp: (dy, [x], _y, attrs) => [expand(dy, x.shape, attrs.axes as number[])],
}

export const maxPrim: Primitive = {
  name: 'max',
  shape: reducedShape('max'),
  // ties share the gradient equally (the mean of the subgradients at the maximisers)
  vjp: (dy, [x], y, attrs) => {
    const axes = attrs.axes as number[]
    const mask = equal(x, expand(y, x.shape, axes))
    const count = expand(bind(sumPrim, [mask], { axes }), x.shape, axes)
    return [div(mul(expand(dy, x.shape, axes), mask), count)]
  },
}

const reduceWith =
  (p: Primitive) =>
  (x: TensorLike, axes?: number | readonly number[], keepdims = false): Tensor => {
    const t = lift(x)
    const ax = normAxes(p.name, axes, t.shape.length)
    const y = bind(p, [t], { axes: ax })
    return keepdims ? reshape(y, keptShape(t.shape, ax)) : y
  }

/** Σ over axes (all by default), optionally keeping reduced axes as size 1. */
export const sum = reduceWith(sumPrim)
/** max over axes; ties share the gradient. */
export const max = reduceWith(maxPrim)
/** min over axes (−max(−x)). */
export const min = (x: TensorLike, axes?: number | readonly number[], keepdims = false): Tensor => neg(max(neg(x), axes, keepdims))
/** Mean over axes. */
export const mean = (x: TensorLike, axes?: number | readonly number[], keepdims = false): Tensor => {
  const t = lift(x)
  const ax = normAxes('mean', axes, t.shape.length)
  const n = ax.reduce((acc, a) => acc * t.shape[a], 1)
  return div(sum(t, ax, keepdims), n)
}
/** log Σ exp over axes, stable (the max is shifted out and carries no gradient). */
export const logsumexp = (x: TensorLike, axes?: number | readonly number[], keepdims = false): Tensor => {
  const t = lift(x)
  const ax = normAxes('logsumexp', axes, t.shape.length)
  const m = stopGradient(max(t, ax, true))
  const r = add(log(sum(exp(sub(t, m)), ax, true)), m)
  return keepdims
    ? r
    : reshape(
        r,
        t.shape.filter((_, i) => !ax.includes(i)),
      )
}
/** Variance over axes (population). */
export const variance = (x: TensorLike, axes?: number | readonly number[], keepdims = false): Tensor => {
  const t = lift(x)
  const d = sub(t, mean(t, axes, true))
  return mean(mul(d, d), axes, keepdims)
}
