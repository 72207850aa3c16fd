/**
 * Deep multi-task learning after Hu et al. 2018: T task networks of one ResNet architecture, coupled by
 * a tensor trace norm (LAF, Tucker or TT) over every conv layer's stacked weights (soft sharing), by hard
 * sharing of the first k conv layers, by cross-stitch units between stages, or not at all (single-task
 * baselines); optional ADA on the pooled features, orthogonal to the sharing.
 */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { add, mul } from '../ops/elementwise.ts'
import type { HostTensor } from '../tensor/host.ts'
import { type Key, split } from '../tensor/prng.ts'
import type { MlpParams } from '../nn/dense.ts'
import { type BlockState, type ConvBn, resnet, type ResNetConfig, type ResNetParams, type ResNetState } from '../nn/resnet.ts'
import type { SvdOptions } from '../linalg/index.ts'
import { adaLambda, adaLoss, initDomainClassifier } from './ada.ts'
import { crossStitch, initCrossStitch } from './crossstitch.ts'
import { laf, stackTasks, traceNormDrawsSketch, tt, tucker } from './tracenorm.ts'

/** The paper's three tensor trace norms, by name: each maps a stacked weight [D…, T], γ and SVD options to a scalar. */
export const traceNormsByKind = { laf, tucker, tt } as const
export type TraceNormKind = keyof typeof traceNormsByKind
const isTraceNorm = (k: string): k is TraceNormKind => k in traceNormsByKind

/**
 * How the T networks share: none; a trace norm with strength γ (one γ for all layers and all unfoldings; `svd`
 * without a key: the sketch key comes per step, see applyMultiTask); hard sharing of the first k conv layers;
 * or cross-stitch units after the stem and every stage (α per channel, `self` on the diagonal at init, default 0.9).
 */
export type Sharing =
  | { readonly kind: 'single' }
  | { readonly kind: TraceNormKind; readonly gamma: number; readonly svd?: Omit<SvdOptions, 'key'> }
  | { readonly kind: 'hard'; readonly layers: number }
  | { readonly kind: 'cross-stitch'; readonly self?: number }

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
  /** Cross-stitch α `[T, T, C]` after the stem and after each stage (cross-stitch sharing only). */
  readonly stitch?: readonly L[]
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
    if (!sameLayout(t, c.tasks[0]))
      throw new RangeError(`initMultiTask: task ${i} has a different architecture from task 0 (only outputs may differ)`)
  })
  const sh = c.sharing
  if (isTraceNorm(sh.kind) && 'gamma' in sh && !(Number.isFinite(sh.gamma) && sh.gamma >= 0))
    throw new RangeError(`initMultiTask: ${sh.kind} gamma must be a non-negative number, got ${sh.gamma}`)
  if (c.ada && c.tasks.length < 2) throw new RangeError('initMultiTask: ADA needs at least 2 tasks')
  const ks = split(k, c.tasks.length + 1)
  const nets = c.tasks.map((t, i) => resnet.init(ks[i], t))
  const features = c.tasks[0].widths[c.tasks[0].widths.length - 1]
  const domain = c.ada ? initDomainClassifier(ks[c.tasks.length], { features, domains: c.tasks.length }) : undefined
  const t0 = c.tasks[0]
  const stitch =
    sh.kind === 'cross-stitch'
      ? [t0.stem.width, ...t0.widths].map((channels) => initCrossStitch({ tasks: c.tasks.length, channels, self: sh.self }))
      : undefined
  return {
    params: { tasks: nets.map((n) => n.params), ...(domain ? { domain } : {}), ...(stitch ? { stitch } : {}) },
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
  if (!Number.isInteger(k) || k < 0 || k > src.length)
    throw new RangeError(`shareFirstLayers: layers must be an integer in [0, ${src.length}], got ${k}`)
  return tasks.map((p, t) => (t === 0 ? p : resnet.mapLayers(p, (l, i) => (i < k ? src[i] : l))))
}

/**
 * A trace norm (γ = 1) of each conv layer's stacked weights `[k,k,in,out,T]`: one scalar per layer. LAF by default;
 * Tucker/TT take SVD options, and a randomized route needs `svd.key` (split into one key per layer).
 */
export const layerTraceNorms = (tasks: readonly ResNetParams[], norm: TraceNormKind = 'laf', svd: SvdOptions = {}): Tensor[] => {
  const per = tasks.map((p) => resnet.convWeights(p))
  const keys = svd.key ? split(svd.key, per[0].length) : undefined
  return per[0].map((_, l) => traceNormsByKind[norm](stackTasks(per.map((ws) => ws[l])), 1, keys ? { ...svd, key: keys[l] } : svd))
}

/**
 * Whether the training penalty of `c.sharing` draws randomized-SVD sketches for these networks, i.e. whether a step
 * must pass `applyMultiTask` a fresh `key` (a compiled training step then traces every step).
 */
export const needsSketchKey = (c: MultiTaskConfig, p: MultiTaskParams): boolean => {
  const sh = c.sharing
  if (!isTraceNorm(sh.kind) || !('gamma' in sh) || sh.gamma <= 0) return false
  const t = p.tasks.length
  return resnet.convWeights(p.tasks[0]).some((w) => traceNormDrawsSketch([...lift(w).shape, t], sh.kind as TraceNormKind, sh.svd ?? {}))
}

/** γ · Σ_layers ‖W_(N)‖* over every conv layer (the paper's regulariser, one strength for all layers). */
export const lafPenalty = (tasks: readonly ResNetParams[], gamma: number): Tensor => traceNormPenalty(tasks, 'laf', gamma)

/** γ · Σ_layers norm(W_layer) for any of the three trace norms (one γ for all layers and unfoldings). */
export const traceNormPenalty = (tasks: readonly ResNetParams[], norm: TraceNormKind, gamma: number, svd: SvdOptions = {}): Tensor =>
  mul(
    layerTraceNorms(tasks, norm, svd).reduce((a, b) => add(a, b)),
    gamma,
  )

/** The T networks run stage by stage with a cross-stitch unit after the stem and after every stage (all batches of one size). */
const applyStitched = (
  c: MultiTaskConfig,
  nets: readonly ResNetParams[],
  alphas: readonly TensorLike[],
  xs: readonly TensorLike[],
  s: MultiTaskState,
  training: boolean,
): { features: Tensor; out: Tensor; state: ResNetState<Tensor> }[] => {
  const stems = nets.map((p, t) => resnet.applyStem(p, xs[t], s.tasks[t], { training, config: c.tasks[t] }))
  let hs = crossStitch(
    alphas[0],
    stems.map((r) => r.h),
  )
  const stageStates: BlockState<Tensor>[][][] = nets.map(() => [])
  nets[0].stages.forEach((_, si) => {
    const rs = nets.map((p, t) => resnet.applyStage(p, si, hs[t], s.tasks[t], { training }))
    rs.forEach((r, t) => {
      stageStates[t].push(r.state)
    })
    hs = crossStitch(
      alphas[si + 1],
      rs.map((r) => r.h),
    )
  })
  return nets.map((p, t) => ({ ...resnet.applyHead(p, hs[t]), state: { stem: stems[t].state, stages: stageStates[t] } }))
}

/** Per-task forward results and the coupling terms, for a loss to combine. */
export interface MultiTaskForward {
  readonly outs: readonly Tensor[]
  readonly features: readonly Tensor[]
  readonly state: MultiTaskState<Tensor>
  /** γ·Σ_layers norm; present only when training with a trace-norm sharing of γ > 0. */
  readonly traceNorm?: Tensor
  readonly ada?: { readonly loss: Tensor; readonly logits: Tensor; readonly labels: HostTensor; readonly lambda: TensorLike }
}

/**
 * Runs every task network on its own batch x_t `[N_t,H,W,C]` (cross-stitch: one N for all) and builds the coupling
 * terms. `progress` ∈ [0, 1] drives the ADA λ schedule, or `adaLambda` gives the scheduled λ itself (a scalar
 * tensor: a compiled step's `ctx.scalar`); `key` seeds the randomized SVD sketches of Tucker/TT (pass a fresh one
 * per step, e.g. foldIn(k, step), so the truncation error does not repeat; `needsSketchKey` says whether any is drawn).
 */
export const applyMultiTask = (
  c: MultiTaskConfig,
  p: MultiTaskParams,
  xs: readonly TensorLike[],
  s: MultiTaskState,
  opts: { training: boolean; progress?: number; adaLambda?: TensorLike; key?: Key },
): MultiTaskForward => {
  if (xs.length !== c.tasks.length) throw new RangeError(`applyMultiTask: ${xs.length} input batches for ${c.tasks.length} tasks`)
  const nets = c.sharing.kind === 'hard' ? shareFirstLayers(p.tasks, c.sharing.layers) : p.tasks
  const sh = c.sharing
  let rs: { features: Tensor; out: Tensor; state: ResNetState<Tensor> }[]
  if (sh.kind === 'cross-stitch') {
    if (!p.stitch) throw new RangeError('applyMultiTask: cross-stitch sharing needs params.stitch (from initMultiTask)')
    rs = applyStitched(c, nets, p.stitch, xs, s, opts.training)
  } else rs = nets.map((np, t) => resnet.apply(np, xs[t], s.tasks[t], { training: opts.training, config: c.tasks[t] }))
  const traceNorm =
    // a training-loss term: evaluation skips it (and needs no sketch key)
    opts.training && isTraceNorm(sh.kind) && 'gamma' in sh && sh.gamma > 0
      ? traceNormPenalty(p.tasks, sh.kind, sh.gamma, { ...sh.svd, ...(opts.key ? { key: opts.key } : {}) })
      : undefined
  let ada: MultiTaskForward['ada']
  if (c.ada && p.domain) {
    const lambda = c.ada.lambda !== 'schedule' ? c.ada.lambda : (opts.adaLambda ?? adaLambda(opts.progress ?? 1))
    ada = {
      ...adaLoss(
        p.domain,
        rs.map((r) => r.features),
        lambda,
      ),
      lambda,
    }
  }
  return {
    outs: rs.map((r) => r.out),
    features: rs.map((r) => r.features),
    state: { tasks: rs.map((r) => r.state) },
    ...(traceNorm ? { traceNorm } : {}),
    ...(ada ? { ada } : {}),
  }
}
