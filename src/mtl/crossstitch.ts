/**
 * Cross-stitch units (Misra et al., CVPR 2016): after a stage, each task's activation becomes a learned linear
 * mix of all T tasks' activations at that point, x̃_t = Σ_s α[t, s] ⊙ x_s, with α per channel. α = I gives
 * independent networks; α near I (the paper's [[0.9, 0.1], [0.1, 0.9]]) starts close to them and learns how much to share.
 */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { add, mul } from '../ops/elementwise.ts'
import { slice, reshape } from '../ops/shape.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'

export interface CrossStitchConfig {
  /** Number of tasks T. */
  readonly tasks: number
  /** Channels C of the activations being mixed. */
  readonly channels: number
  /** Weight each task keeps of its own activation at init (the rest is spread evenly over the others); default 0.9. */
  readonly self?: number
}

/** One unit's mixing weights α `[T, T, C]` (row t mixes into task t), near identity: self on the diagonal, (1 − self)/(T − 1) elsewhere. */
export const initCrossStitch = (c: CrossStitchConfig): HostTensor => {
  const self = c.self ?? 0.9
  if (!Number.isInteger(c.tasks) || c.tasks < 1 || !Number.isInteger(c.channels) || c.channels < 1)
    throw new RangeError(`initCrossStitch: tasks and channels must be positive integers, got tasks ${c.tasks}, channels ${c.channels}`)
  if (!Number.isFinite(self)) throw new RangeError(`initCrossStitch: self must be a finite number, got ${self}`)
  const { tasks: t, channels: ch } = c
  const other = t > 1 ? (1 - self) / (t - 1) : 0
  const a = new Float32Array(t * t * ch)
  for (let i = 0; i < t; i++)
    for (let j = 0; j < t; j++) a.fill(i === j ? (t > 1 ? self : 1) : other, (i * t + j) * ch, (i * t + j + 1) * ch)
  return fromData(a, [t, t, ch])
}

/** Applies one cross-stitch unit: α `[T, T, C]`, T activations `[…, C]` of one shape → T mixed activations of that shape. */
export const crossStitch = (alpha: TensorLike, xs: readonly TensorLike[]): Tensor[] => {
  const a = lift(alpha)
  const ts = xs.map(lift)
  const t = ts.length
  if (t === 0) throw new ShapeError('crossStitch: needs at least one activation')
  const shape = ts[0].shape
  const ch = shape[shape.length - 1]
  if (ts.some((x) => x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])))
    throw new ShapeError(`crossStitch: activations differ in shape: ${ts.map((x) => fmt(x.shape)).join(' vs ')}`)
  if (a.shape.length !== 3 || a.shape[0] !== t || a.shape[1] !== t || a.shape[2] !== ch)
    throw new ShapeError(`crossStitch: alpha must be [${t}, ${t}, ${ch}] for ${t} activations of shape ${fmt(shape)}, got ${fmt(a.shape)}`)
  // α[t, s, :] as a [C] vector broadcast over the leading axes of x_s
  const coef = (i: number, j: number) => reshape(slice(a, [i, j, 0], [1, 1, ch]), [ch])
  return ts.map((_, i) => ts.map((x, j) => mul(coef(i, j), x)).reduce((acc, y) => add(acc, y)))
}
