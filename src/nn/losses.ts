/** Task losses: mean softmax cross-entropy (on the primitive) and mean absolute error. */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { abs, sub } from '../ops/elementwise.ts'
import { softmaxCrossEntropy } from '../ops/loss.ts'
import { mean } from '../ops/reduce.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { ShapeError } from '../tensor/shape.ts'

/** One-hot `[N, classes]` float32 from integer labels `[N]`; errors name the bad label. */
export const oneHotHost = (labels: HostTensor, classes: number): HostTensor => {
  const n = labels.data.length
  const out = new Float32Array(n * classes)
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]
    if (!Number.isInteger(l) || l < 0 || l >= classes)
      throw new RangeError(`oneHotHost: label ${l} at index ${i} is not an integer in [0, ${classes})`)
    out[i * classes + l] = 1
  }
  return fromData(out, [n, classes])
}

/** Mean softmax cross-entropy: logits `[N, C]`, one-hot targets `[N, C]` → scalar. */
export const crossEntropy = (logits: TensorLike, targets: TensorLike): Tensor => {
  const z = lift(logits)
  const y = lift(targets)
  if (z.shape.length !== 2 || y.shape.join() !== z.shape.join())
    throw new ShapeError(`crossEntropy: logits [N,C] and targets must match: [${z.shape.join(',')}] vs [${y.shape.join(',')}]`)
  return mean(softmaxCrossEntropy(z, y))
}

/** Mean absolute error over all elements (the paper's landmark loss): pred and target of one shape → scalar. */
export const l1 = (pred: TensorLike, target: TensorLike): Tensor => {
  const p = lift(pred)
  const t = lift(target)
  if (p.shape.join() !== t.shape.join()) throw new ShapeError(`l1: shapes differ: [${p.shape.join(',')}] vs [${t.shape.join(',')}]`)
  return mean(abs(sub(p, t)))
}

/** Fraction of rows whose argmax matches the label: logits `[N, C]` (host), labels `[N]`. */
export const accuracyHost = (logits: HostTensor, labels: HostTensor): number => {
  const [n, c] = logits.shape
  let ok = 0
  for (let i = 0; i < n; i++) {
    let best = 0
    for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j
    if (best === labels.data[i]) ok++
  }
  return n ? ok / n : 0
}
