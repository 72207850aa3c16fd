/**
 * Deep multi-task learning after Hu et al. 2018: T task networks of one ResNet architecture, coupled by
 * the LAF trace norm over every conv layer's stacked weights (soft sharing), or by hard sharing of the first
 * k conv layers, or not at all (single-task baselines); optional ADA on the pooled features.
 */
import type { Tensor, TensorLike } from '../autodiff/graph.ts'
import { add, mul } from '../ops/elementwise.ts'
import type { HostTensor } from '../tensor/host.ts'
import { type Key, split } from '../tensor/prng.ts'
import type { MlpParams } from '../nn/dense.ts'
import { type ConvBn, resnet, type ResNetConfig, type ResNetParams, type ResNetState } from '../nn/resnet.ts'
import { adaLambda, adaLoss, initDomainClassifier } from './ada.ts'
import { laf, stackTasks } from './tracenorm.ts'

/** How the T networks share: none, LAF trace norm with strength γ, or hard sharing of the first k conv layers. */
export type Sharing = { readonly kind: 'single' } | { readonly kind: 'laf'; readonly gamma: number } | { readonly kind: 'hard'; readonly layers: number }

export interface AdaConfig {
  /** Weight of the domain loss in the total. */
  readonly weight: number
  /** Reversal strength λ, or 'schedule' for 2/(1+e^{−10p}) − 1 over training progress p. */
  readonly lambda: number | 'schedule'
}

export interface MultiTaskConfig {
  /** One ResNet per task; identical except `outputs` (the heads). */
  readonly tasks: readonly ResNetConfig[]
  readonly sharing: Sharing
  readonly ada?: AdaConfig
}

export interface MultiTaskParams<L = TensorLike> {
  readonly tasks: readonly ResNetParams<L>[]
  readonly domain?: MlpParams<L>
}
export interface MultiTaskState<L = TensorLike> {
  readonly tasks: readonly ResNetState<L>[]
}

const sameLayout = (a: ResNetConfig, b: ResNetConfig): boolean =>
  JSON.stringify({ ...a, outputs: 0 }) === JSON.stringify({ ...b, outputs: 0 })

/** Initialises T networks from independent keys (and the domain classifier when ADA is on). */
export const initMultiTask = (k: Key, c: MultiTaskConfig): { params: MultiTaskParams<HostTensor>; state: MultiTaskState<HostTensor> } => {
  if (c.tasks.length < 1) throw new RangeError('initMultiTask: needs at least one task')
  c.tasks.forEach((t, i) => {
    if (!sameLayout(t, c.tasks[0])) throw new RangeError(`initMultiTask: task ${i} has a different architecture from task 0 (only outputs may differ)`)
  })
  if (c.sharing.kind === 'laf' && !(Number.isFinite(c.sharing.gamma) && c.sharing.gamma >= 0))
    throw new RangeError(`initMultiTask: LAF gamma must be a non-negative number, got ${c.sharing.gamma}`)
  if (c.ada && c.tasks.length < 2) throw new RangeError('initMultiTask: ADA needs at least 2 tasks')
  const ks = split(k, c.tasks.length + 1)
  const nets = c.tasks.map((t, i) => resnet.init(ks[i], t))
  const features = c.tasks[0].widths[c.tasks[0].widths.length - 1]
  const domain = c.ada ? initDomainClassifier(ks[c.tasks.length], { features, domains: c.tasks.length }) : undefined
  return {
    params: { tasks: nets.map((n) => n.params), ...(domain ? { domain } : {}) },
    state: { tasks: nets.map((n) => n.state) },
  }
}

/** Hard sharing: every task uses task 0's first k conv+BN units (the others' copies get no gradient). */
export const shareFirstLayers = <L>(tasks: readonly ResNetParams<L>[], k: number): ResNetParams<L>[] => {
  const src: ConvBn<L>[] = []
  resnet.mapLayers(tasks[0], (l) => {
    src.push(l)
    return l
  })
  if (!Number.isInteger(k) || k < 0 || k > src.length) throw new RangeError(`shareFirstLayers: layers must be an integer in [0, ${src.length}], got ${k}`)
  return tasks.map((p, t) => (t === 0 ? p : resnet.mapLayers(p, (l, i) => (i < k ? src[i] : l))))
}

/** The LAF trace norm of each conv layer's stacked weights `[k,k,in,out,T]` (γ = 1): one scalar per layer. */
export const layerTraceNorms = (tasks: readonly ResNetParams[]): Tensor[] => {
  const per = tasks.map((p) => resnet.convWeights(p))
  return per[0].map((_, l) => laf(stackTasks(per.map((ws) => ws[l])), 1))
}

/** γ · Σ_layers ‖W_(N)‖* over every conv layer (the paper's regulariser, one strength for all layers). */
export const lafPenalty = (tasks: readonly ResNetParams[], gamma: number): Tensor =>
  mul(layerTraceNorms(tasks).reduce((a, b) => add(a, b)), gamma)

/** Per-task forward results and the coupling terms, for a loss to combine. */
export interface MultiTaskForward {
  readonly outs: readonly Tensor[]
  readonly features: readonly Tensor[]
  readonly state: MultiTaskState<Tensor>
  /** γ·Σ_layers LAF; present only when sharing is LAF with γ > 0. */
  readonly traceNorm?: Tensor
  readonly ada?: { readonly loss: Tensor; readonly logits: Tensor; readonly labels: HostTensor; readonly lambda: number }
}

/**
 * Runs every task network on its own batch x_t `[N_t,H,W,C]` and builds the coupling terms.
 * `progress` ∈ [0, 1] drives the ADA λ schedule.
 */
export const applyMultiTask = (
  c: MultiTaskConfig,
  p: MultiTaskParams,
  xs: readonly TensorLike[],
  s: MultiTaskState,
  opts: { training: boolean; progress?: number },
): MultiTaskForward => {
  if (xs.length !== c.tasks.length) throw new RangeError(`applyMultiTask: ${xs.length} input batches for ${c.tasks.length} tasks`)
  const nets = c.sharing.kind === 'hard' ? shareFirstLayers(p.tasks, c.sharing.layers) : p.tasks
  const rs = nets.map((np, t) => resnet.apply(np, xs[t], s.tasks[t], { training: opts.training, config: c.tasks[t] }))
  const traceNorm = c.sharing.kind === 'laf' && c.sharing.gamma > 0 ? lafPenalty(p.tasks, c.sharing.gamma) : undefined
  let ada: MultiTaskForward['ada']
  if (c.ada && p.domain) {
    const lambda = c.ada.lambda === 'schedule' ? adaLambda(opts.progress ?? 1) : c.ada.lambda
    ada = { ...adaLoss(p.domain, rs.map((r) => r.features), lambda), lambda }
  }
  return {
    outs: rs.map((r) => r.out),
    features: rs.map((r) => r.features),
    state: { tasks: rs.map((r) => r.state) },
    ...(traceNorm ? { traceNorm } : {}),
    ...(ada ? { ada } : {}),
  }
}
