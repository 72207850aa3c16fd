/**
 * Adversarial Domain Alignment (paper §2.3): a domain classifier on each task's pooled features, trained to
 * tell the datasets apart, behind a gradient-reversal op so the feature extractors learn to confuse it.
 */
import { customVjp } from '../autodiff/vjp.ts'
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { concat } from '../ops/shape.ts'
import { mul, neg } from '../ops/elementwise.ts'
import { softmaxCrossEntropy } from '../ops/loss.ts'
import { mean } from '../ops/reduce.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import type { Key } from '../tensor/prng.ts'
import { fmt } from '../tensor/shape.ts'
import { mlp, type MlpParams } from '../nn/dense.ts'

/**
 * Gradient reversal: identity forward, `−λ·dy` backward (Ganin & Lempitsky). x any shape. λ is a number, or a
 * scalar tensor (a schedule's per-step value in a compiled step, `ctx.scalar`); no gradient flows into it.
 */
export const gradReverse = (x: TensorLike, lambda: TensorLike): Tensor => {
  if (typeof lambda === 'number' && !Number.isFinite(lambda))
    throw new RangeError(`gradReverse: lambda must be a finite number, got ${lambda}`)
  if (typeof lambda !== 'number' && lift(lambda).shape.length !== 0)
    throw new RangeError(`gradReverse: lambda must be a number or a scalar tensor, got shape ${fmt(lift(lambda).shape)}`)
  return customVjp(
    'gradReverse',
    (t) => t,
    (dy) => [neg(mul(dy, lambda))],
  )(x)
}

/** The DANN schedule λ(p) = 2 / (1 + e^{−γp}) − 1 for training progress p ∈ [0, 1] (γ = 10 in the paper's source). */
export const adaLambda = (progress: number, gamma = 10): number => 2 / (1 + Math.exp(-gamma * Math.min(1, Math.max(0, progress)))) - 1

export interface DomainClassifierConfig {
  /** Width of the pooled features (512 for ResNet-34). */
  readonly features: number
  /** Number of domains (tasks); 2 in the paper. */
  readonly domains: number
}

/** The paper's 512-128-64-2 MLP scaled to the feature width: hidden layers features/4 and features/8 (at least 4). */
export const domainClassifierSizes = (c: DomainClassifierConfig): number[] => [
  c.features,
  Math.max(4, Math.round(c.features / 4)),
  Math.max(4, Math.round(c.features / 8)),
  c.domains,
]

/** Initialises the domain classifier. */
export const initDomainClassifier = (k: Key, c: DomainClassifierConfig): MlpParams<HostTensor> =>
  mlp.init(k, { sizes: domainClassifierSizes(c) })

/**
 * ADA loss: features of each task `[N_t, F]` go through gradient reversal (strength λ) into the domain
 * classifier, which is scored with softmax cross-entropy against the task index. Returns the mean loss
 * (minimised by the classifier, maximised by the feature extractors through the reversal) and accuracy inputs.
 */
export const adaLoss = (
  classifier: MlpParams,
  features: readonly TensorLike[],
  lambda: TensorLike,
): { loss: Tensor; logits: Tensor; labels: HostTensor } => {
  if (features.length < 2) throw new RangeError(`adaLoss: needs features of at least 2 tasks, got ${features.length}`)
  const fs = features.map(lift)
  const z = concat(
    fs.map((f) => gradReverse(f, lambda)),
    0,
  )
  const logits = mlp.apply(classifier, z)
  const d = fs.length
  const ys = new Float32Array(z.shape[0] * d)
  let row = 0
  fs.forEach((f, t) => {
    for (let i = 0; i < f.shape[0]; i++) ys[(row + i) * d + t] = 1
    row += f.shape[0]
  })
  const labels = fromData(ys, [z.shape[0], d])
  return { loss: mean(softmaxCrossEntropy(logits, labels)), logits, labels }
}
