/** Classification and regression losses: oneHot and softmaxCrossEntropy are primitives, the rest composites. */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { fmt, type Shape, ShapeError, shapesEqual } from '../tensor/shape.ts'
import { abs, mul, neg, square, sub } from './elementwise.ts'
import { logSoftmax, softmax } from './nn-math.ts'
import { mean, sum } from './reduce.ts'
import { expandDims } from './shape.ts'

/** oneHot: labels `[...]`, attrs `{ depth }` → `[..., depth]`. */
export const oneHotPrim: Primitive = {
  name: 'oneHot',
  shape: ([s], { depth }) => {
    expectShape(
      Number.isInteger(depth) && (depth as number) >= 1,
      'oneHot',
      `depth must be a positive integer, got ${JSON.stringify(depth)}`,
    )
    return [...s, depth as number]
  },
  // piecewise constant in the labels
  vjp: () => [null],
}

/**
 * labels `[...]` (integer-valued floats in [0, depth)) → `[..., depth]` one-hot rows. Labels are data, so a
 * bad one is only seen when the kernel runs: it throws there, naming the op, the label and its index.
 */
export const oneHot = (labels: TensorLike, depth: number): Tensor => bind(oneHotPrim, [labels], { depth })

/** softmaxCrossEntropy: logits, targets `[..., C]` → per-example loss `[...]`. */
export const softmaxCrossEntropyPrim: Primitive = {
  name: 'softmaxCrossEntropy',
  shape: ([l, t]) => {
    expectShape(l.length >= 1, 'softmaxCrossEntropy', 'logits must have rank ≥ 1 [..., C]', [l, t])
    expectShape(shapesEqual(l, t), 'softmaxCrossEntropy', 'logits and targets shapes differ', [l, t])
    return l.slice(0, -1)
  },
  // loss = Σ_c t_c (lse − l_c): ∂/∂l = softmax · Σ_c t_c − t (= softmax − t for distributions), ∂/∂t = −logSoftmax
  vjp: (dy, [l, t]) => {
    const d = expandDims(dy, -1)
    return [mul(sub(mul(softmax(l), sum(t, -1, true)), t), d), mul(neg(logSoftmax(l)), d)]
  },
}

/** Per-example cross-entropy −Σ_c targets · logSoftmax(logits), stable: logits, targets `[..., C]` → `[...]`. */
export const softmaxCrossEntropy = (logits: TensorLike, targets: TensorLike): Tensor => bind(softmaxCrossEntropyPrim, [logits, targets])

/** Per-example cross-entropy with integer class labels: logits `[..., C]`, labels `[...]` → `[...]`. */
export const sparseSoftmaxCrossEntropy = (logits: TensorLike, labels: TensorLike): Tensor => {
  const [l, y] = [lift(logits), lift(labels)]
  if (l.shape.length < 1 || !shapesEqual(l.shape.slice(0, -1), y.shape))
    throw new ShapeError(
      `sparseSoftmaxCrossEntropy: labels must have the logits shape without the class axis: ${fmt(l.shape)} × ${fmt(y.shape)}`,
    )
  return softmaxCrossEntropy(l, oneHot(y, l.shape[l.shape.length - 1]))
}

const sameShape = (op: string, a: Shape, b: Shape): void => {
  if (!shapesEqual(a, b)) throw new ShapeError(`${op}: prediction and target shapes differ: ${fmt(a)} × ${fmt(b)}`)
}

/** Mean absolute error over all elements: pred, target of one shape → scalar. */
export const l1Loss = (pred: TensorLike, target: TensorLike): Tensor => {
  const [p, t] = [lift(pred), lift(target)]
  sameShape('l1Loss', p.shape, t.shape)
  return mean(abs(sub(p, t)))
}

/** Mean squared error over all elements: pred, target of one shape → scalar. */
export const l2Loss = (pred: TensorLike, target: TensorLike): Tensor => {
  const [p, t] = [lift(pred), lift(target)]
  sameShape('l2Loss', p.shape, t.shape)
  return mean(square(sub(p, t)))
}
