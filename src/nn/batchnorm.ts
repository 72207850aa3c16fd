/**
 * Batch normalisation over all axes but the last (NHWC channels, or features of `[N, F]`).
 * Running statistics live in an explicit `state` tree that `apply` returns updated; nothing is mutated.
 */
import type { Tensor, TensorLike } from '../graph/graph.ts'
import { lift } from '../graph/graph.ts'
import { stopGradient } from '../ops/shape.ts'
import { add, mul, sqrt, sub, div } from '../ops/elementwise.ts'
import { mean } from '../ops/reduce.ts'
import type { HostTensor } from '../tensor/host.ts'
import { onesInit, zerosInit } from './init.ts'

export interface BatchNormConfig {
  readonly channels: number
}
export interface BatchNormParams<L = TensorLike> {
  readonly gamma: L
  readonly beta: L
}
export interface BatchNormState<L = TensorLike> {
  readonly mean: L
  readonly var: L
}
export interface BatchNormOptions {
  /** Train mode normalises with batch statistics and updates the running ones; eval mode uses the running ones. */
  readonly training: boolean
  /** Weight of the old running statistic (Keras convention, default 0.9). */
  readonly momentum?: number
  readonly eps?: number
}

export const batchNorm = {
  /** γ = 1, β = 0 `[C]`; running mean 0, variance 1 `[C]`. */
  init: (c: BatchNormConfig): { params: BatchNormParams<HostTensor>; state: BatchNormState<HostTensor> } => {
    if (!Number.isInteger(c.channels) || c.channels <= 0)
      throw new RangeError(`batchNorm.init: channels must be a positive integer, got ${c.channels}`)
    return {
      params: { gamma: onesInit([c.channels]), beta: zerosInit([c.channels]) },
      state: { mean: zerosInit([c.channels]), var: onesInit([c.channels]) },
    }
  },
  /** x `[..., C]` → y of the same shape and the next state (unchanged in eval mode). */
  apply: (p: BatchNormParams, x: TensorLike, s: BatchNormState, o: BatchNormOptions): { y: Tensor; state: BatchNormState<Tensor> } => {
    const t = lift(x)
    const c = t.shape[t.shape.length - 1]
    const g = lift(p.gamma)
    if (g.shape.length !== 1 || g.shape[0] !== c)
      throw new RangeError(
        `batchNorm.apply: input has ${c} channels (shape [${t.shape.join(',')}]) but gamma has shape [${g.shape.join(',')}]`,
      )
    const eps = o.eps ?? 1e-5
    const axes = t.shape.slice(0, -1).map((_, i) => i)
    if (!o.training) {
      const scale = div(g, sqrt(add(s.var, eps)))
      return { y: add(mul(sub(t, s.mean), scale), p.beta), state: { mean: lift(s.mean), var: lift(s.var) } }
    }
    const m = mean(t, axes)
    const d = sub(t, m)
    const v = mean(mul(d, d), axes)
    const y = add(mul(d, div(g, sqrt(add(v, eps)))), p.beta)
    const mom = o.momentum ?? 0.9
    // running variance uses the unbiased estimate (as Keras/PyTorch do) and carries no gradient
    const n = axes.reduce((acc, a) => acc * t.shape[a], 1)
    const unbiased = mul(stopGradient(v), n > 1 ? n / (n - 1) : 1)
    return {
      y,
      state: {
        mean: add(mul(s.mean, mom), mul(stopGradient(m), 1 - mom)),
        var: add(mul(s.var, mom), mul(unbiased, 1 - mom)),
      },
    }
  },
}
