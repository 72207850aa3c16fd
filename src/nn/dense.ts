/** Fully connected layers and the MLP, as pure `{ init, apply }` pairs over readonly parameter trees. */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { add, relu } from '../ops/elementwise.ts'
import { matmul } from '../ops/matmul.ts'
import type { HostTensor } from '../tensor/host.ts'
import { type Key, split } from '../tensor/prng.ts'
import { glorotUniform, heNormal, zerosInit } from './init.ts'

export interface DenseConfig {
  readonly inFeatures: number
  readonly outFeatures: number
  /** 'he' before a ReLU (default), 'glorot' for an output layer. */
  readonly init?: 'he' | 'glorot'
}
export interface DenseParams<L = TensorLike> {
  readonly w: L
  readonly b: L
}

const checkPositive = (op: string, name: string, v: number): void => {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`)
}

export const dense = {
  /** w `[in, out]` (He or Glorot), b `[out]` zeros. */
  init: (k: Key, c: DenseConfig): DenseParams<HostTensor> => {
    checkPositive('dense.init', 'inFeatures', c.inFeatures)
    checkPositive('dense.init', 'outFeatures', c.outFeatures)
    const shape = [c.inFeatures, c.outFeatures]
    return { w: c.init === 'glorot' ? glorotUniform(k, shape) : heNormal(k, shape), b: zerosInit([c.outFeatures]) }
  },
  /** x `[..., in]` → `[..., out]` = x·w + b. */
  apply: (p: DenseParams, x: TensorLike): Tensor => add(matmul(x, p.w), p.b),
}

export interface MlpConfig {
  /** Layer widths including input and output, e.g. the paper's domain classifier [512, 128, 64, 2]. */
  readonly sizes: readonly number[]
}
export type MlpParams<L = TensorLike> = readonly DenseParams<L>[]

export const mlp = {
  /** One dense layer per consecutive pair of sizes; the last one Glorot-initialised (it feeds a loss, not a ReLU). */
  init: (k: Key, c: MlpConfig): MlpParams<HostTensor> => {
    if (c.sizes.length < 2) throw new RangeError(`mlp.init: sizes needs at least [in, out], got [${c.sizes.join(',')}]`)
    const ks = split(k, c.sizes.length - 1)
    return ks.map((kk, i) =>
      dense.init(kk, { inFeatures: c.sizes[i], outFeatures: c.sizes[i + 1], init: i === ks.length - 1 ? 'glorot' : 'he' }),
    )
  },
  /** x `[N, sizes[0]]` → `[N, sizes.at(-1)]`, ReLU between layers, none after the last. */
  apply: (p: MlpParams, x: TensorLike): Tensor =>
    lift(
      p.reduce<TensorLike>((h, layer, i) => {
        const y = dense.apply(layer, h)
        return i === p.length - 1 ? y : relu(y)
      }, x),
    ),
}
