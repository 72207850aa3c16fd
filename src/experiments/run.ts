/**
 * `runExperiment(config, opts) → results`: trains every run of a config (same data, initialisation and batch
 * order for all) and evaluates both tasks on the test (and validation) split. Plain data out; no files, no
 * globals: the backend, the progress sink and the log sink are arguments.
 */
import type { Tensor } from '../graph/graph.ts'
import { leaves, type Tree } from '../tensor/tree.ts'
import type { Backend } from '../backend/backend.ts'
import { add, equal, mul, square, sub } from '../ops/elementwise.ts'
import { max, mean, sum } from '../ops/reduce.ts'
import type { HostTensor } from '../tensor/host.ts'
import { foldIn, key, split } from '../tensor/prng.ts'
import { crossEntropy, l1 } from '../nn/losses.ts'
import { type ResNetConfig, type ResNetParams, resnetLayouts } from '../nn/resnet.ts'
import {
  applyMultiTask,
  initMultiTask,
  type MultiTaskConfig,
  type MultiTaskParams,
  needsSketchKey,
  type Sharing,
  shareFirstLayers,
} from '../mtl/multitask.ts'
import { adaLambda } from '../mtl/ada.ts'
import { measureLayerTraceNorms, tndr } from '../mtl/tndr.ts'
import { adam, schedules } from '../optim/index.ts'
import { type EpochLog, type EpochRecord, type FitConfig, fit } from '../train/loop.ts'
import { trainStep } from '../train/step.ts'
import { batches } from '../data/batch.ts'
import { oneHot } from '../ops/loss.ts'
import { checkExperiment, type ExperimentConfig, type RunKind } from './config.ts'
import { dataKey, type ExperimentData, makeExperimentData, type TaskData } from './data.ts'
import { tsne2 } from './embed.ts'
import { evaluate, landmarkError, type Metrics } from './evaluate.ts'

/** Where a run is, for progress lines (run i of n, epoch, step, ETA of this experiment). */
export interface Progress {
  readonly run: RunKind
  readonly runIndex: number
  readonly runs: number
  readonly epoch: number
  readonly epochs: number
  readonly step: number
  readonly steps: number
  readonly metrics: Readonly<Record<string, number>>
  readonly elapsedSeconds: number
  /** Seconds left for this experiment's remaining runs, from the mean step time so far. */
  readonly etaSeconds: number
}

/** What to keep beyond the metrics (each costs memory or time; all off by default). */
export interface RecordOptions {
  /** Per-image NME of the test landmarks (for cumulative error curves). */
  readonly perImage?: boolean
  /** Pooled test features of both tasks (at most this many rows per task), for Fig. 3c. */
  readonly features?: number
  /** A t-SNE embedding of those features (both tasks, expression rows first) on the run's backend, for Fig. 3c. */
  readonly tsne?: boolean
  /** LAF trace norm of every conv layer after every epoch (Fig. 3a). */
  readonly traceNormsPerEpoch?: boolean
  /** The trained parameters and batch-norm state (e.g. to fine-tune from). */
  readonly params?: boolean
}

export interface RunOptions {
  /** The backend named by `config.backend`, resolved by the caller (`backendFor` in `softshare/node`). */
  readonly backend: Backend<any>
  readonly onProgress?: (p: Progress) => void
  /** Progress of the phases around training: `what` is e.g. 'generating faces' or 'evaluating laf (test)'. */
  readonly onPhase?: (what: string, done: number, total: number) => void
  /** Receives one record per epoch (e.g. a JSONL sink). */
  readonly log?: (record: Readonly<Record<string, unknown>>) => void
  /** Keras-style epoch lines (default none). */
  readonly print?: (line: string) => void
  /** Data made by `makeExperimentData` for the same data settings (shared between configs to save generation time). */
  readonly data?: ExperimentData
  readonly record?: RecordOptions
  /** Runs the training fold (default `fit`); `fitRun` from `softshare/node` adds a run directory, checkpoints and resume. */
  readonly fit?: (initial: any, config: FitConfig<any, any>, run: RunKind) => Promise<{ state: any; history: readonly EpochRecord[] }>
  /** Pretrained networks per task: each replaces the fresh trunk (stem + stages) of that task; heads stay fresh. */
  readonly pretrained?: readonly (ResNetParams<HostTensor> | undefined)[]
  /**
   * Evaluate the validation split after every epoch (inference mode: running batch-norm statistics, no PRNG)
   * and record `val_acc`, `val_nme` and `val_err` (see `validationError`) as the epoch's test metrics, e.g. for
   * `fitRun`'s `best`. Needs `config.val > 0`; training and every reported number stay as without it.
   */
  readonly epochValidation?: boolean
}

export interface RunResult {
  readonly run: RunKind
  readonly seed: number
  readonly test: Metrics
  readonly val?: Metrics
  /** Σ over conv layers of the LAF norm (γ = 1) of the stacked task weights, at init and after training. */
  readonly tnInit: number
  readonly tnEnd: number
  /** Per conv layer in network order: LAF norm after training over at init (Fig. 3b). */
  readonly tndrLayers: readonly number[]
  /** Per epoch, per conv layer: LAF norm over its initial value (Fig. 3a; when recorded). */
  readonly tndrEpochs?: readonly (readonly number[])[]
  readonly history: readonly EpochRecord[]
  readonly secondsPerEpoch: number
  readonly seconds: number
  readonly features?: { readonly expr: readonly (readonly number[])[]; readonly lm: readonly (readonly number[])[] }
  /** `tsne2` of the features, expression rows first (when recorded). */
  readonly tsne?: readonly (readonly [number, number])[]
  readonly params?: { readonly params: MultiTaskParams<HostTensor>; readonly state: unknown }
}

export interface ExperimentResult {
  readonly config: ExperimentConfig
  readonly runs: readonly RunResult[]
  /** Chance accuracy and the NME of always predicting the training mean shape (inter-ocular). */
  readonly baselines: { readonly chanceAcc: number; readonly meanShapeNme: number }
  readonly seconds: number
}

/** The sharing of a run name (`+ada` is orthogonal and handled by the caller). */
export const sharingOf = (kind: RunKind, c: ExperimentConfig): Sharing => {
  const base = kind.replace(/\+ada$/, '') as Exclude<RunKind, `${string}+ada`>
  if (base === 'single' || base === 'cross-stitch') return { kind: base }
  if (base === 'hard') return { kind: 'hard', layers: c.hardLayers }
  // LAF stays exact (its T×T thin path); Tucker/TT ask for the rank-k truncation explicitly (unfoldings within
  // rank + oversampling stay exact), which also silences the truncation warning of method 'auto'
  if (base === 'laf') return { kind: base, gamma: c.gamma[base], svd: { rank: c.svdRank } }
  return { kind: base, gamma: c.gamma[base], svd: { rank: c.svdRank, method: 'randomized' } }
}

/** One ResNet per task of the config's architecture. */
export const archOf = (c: ExperimentConfig, outputs: number): ResNetConfig =>
  c.arch === 'small' ? resnetLayouts.small(1, outputs, c.width) : resnetLayouts[c.arch](1, outputs)

/** The two-task network of a run: expression classes and 136 landmark coordinates. */
export const multiTaskOf = (kind: RunKind, c: ExperimentConfig, classes: number): MultiTaskConfig => ({
  tasks: [archOf(c, classes), archOf(c, 136)],
  sharing: sharingOf(kind, c),
  ...(kind.endsWith('+ada') ? { ada: { weight: c.adaWeight, lambda: 'schedule' as const } } : {}),
})

/**
 * A network with a pretrained trunk under its own fresh head: stem and stages from `pretrained`, head from
 * `fresh` (the transfer of Table 7). Throws naming the first tensor whose shape differs.
 */
export const withPretrainedTrunk = <L extends HostTensor>(fresh: ResNetParams<L>, pretrained: ResNetParams<L>): ResNetParams<L> => {
  const check = (path: string, a: unknown, b: unknown): void => {
    if (a && typeof a === 'object' && 'shape' in (a as object)) {
      const sa = (a as HostTensor).shape.join(',')
      const sb = (b as HostTensor | undefined)?.shape?.join(',')
      if (sa !== sb) throw new RangeError(`withPretrainedTrunk: ${path} has shape [${sb}] in the pretrained network, expected [${sa}]`)
      return
    }
    if (a && typeof a === 'object')
      for (const k of Object.keys(a as object)) {
        if (!b || typeof b !== 'object' || !(k in (b as object)))
          throw new RangeError(`withPretrainedTrunk: ${path}.${k} is missing from the pretrained network`)
        check(`${path}.${k}`, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      }
  }
  check('stem', fresh.stem, pretrained.stem)
  check('stages', fresh.stages, pretrained.stages)
  return { stem: pretrained.stem, stages: pretrained.stages, head: fresh.head }
}

/**
 * One number for "how good on held-out faces", lower is better: each task's error relative to its trivial
 * predictor, summed, `(1 − acc)/(1 − 1/classes) + nme/nmeMeanShape`. 2 ≈ chance and the mean shape, 0 = perfect.
 */
export const validationError = (m: Pick<Metrics, 'acc' | 'nme'>, classes: number, meanShapeNme: number): number =>
  (1 - m.acc) / (1 - 1 / classes) + m.nme / meanShapeNme

/** NME of always predicting the training mean shape on a split's landmark faces (inter-ocular). */
const meanShapeNmeOf = (data: ExperimentData, split: 'val' | 'test'): number => {
  const y = data.lm[split].y
  // standardised targets: the mean shape is 0, so its error is the target's own deviation
  return landmarkError(new Float32Array(y.shape[0] * 136), y.data, data).mean
}

/** Training accuracy inside the graph (ties are measure-zero for float logits). */
const batchAccuracy = (logits: Tensor, y: Tensor): Tensor => mean(sum(mul(equal(logits, max(logits, 1, true)), y), 1))
const total = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

const trainRun = async (
  kind: RunKind,
  runIndex: number,
  c: ExperimentConfig,
  data: ExperimentData,
  opts: RunOptions,
  clock: { t0: number; stepsDone: number; stepsTotal: number },
): Promise<RunResult> => {
  const t0 = performance.now()
  const be = opts.backend
  const mc = multiTaskOf(kind, c, data.classes)
  const [kInit, kShuffle, kSketch] = split(key(c.seed + 1), 3)
  const fresh = initMultiTask(kInit, mc)
  const init = opts.pretrained
    ? {
        ...fresh,
        params: {
          ...fresh.params,
          tasks: fresh.params.tasks.map((p, t) => (opts.pretrained?.[t] ? withPretrainedTrunk(p, opts.pretrained[t]) : p)),
        },
      }
    : fresh
  // trace norms of the weights the networks actually use (hard sharing substitutes task 0's first layers)
  const effective = (tasks: any) => (mc.sharing.kind === 'hard' ? shareFirstLayers(tasks, mc.sharing.layers) : tasks)
  const norms = (tasks: any) => measureLayerTraceNorms(effective(tasks), be)
  const tnInit = await norms(init.params.tasks)
  const stepsPerEpoch = Math.floor(c.train / c.batch)
  const steps = stepsPerEpoch * c.epochs
  const lr = schedules.cosine(c.lr, 0.05)
  const opt = adam({ lr: c.lr })
  // one plan for every step: the ADA λ schedule is a per-step argument, and only randomized sketches read the step
  const sketches = needsSketchKey(mc, init.params)
  const step = trainStep<{ a: TaskData; b: TaskData }, any, any>({
    optimizer: opt,
    backend: be,
    compile: true,
    lr: (s) => lr(s, steps),
    loss: (p, batch, s, ctx) => {
      const f = applyMultiTask(mc, p, [batch.a.x, batch.b.x], s, {
        training: true,
        ...(mc.ada?.lambda === 'schedule' ? { adaLambda: ctx.scalar((i) => adaLambda(i / steps)) } : {}),
        ...(sketches ? { key: foldIn(kSketch, ctx.step) } : {}),
      })
      const ya = oneHot(batch.a.y, data.classes)
      const ce = crossEntropy(f.outs[0], ya)
      const lb = c.landmarkLoss === 'l1' ? l1(f.outs[1], batch.b.y) : mean(square(sub(f.outs[1], batch.b.y)))
      let loss = add(ce, lb)
      const metrics: Record<string, Tensor> = { ce, acc: batchAccuracy(f.outs[0], ya), [c.landmarkLoss]: lb }
      if (f.traceNorm) {
        loss = add(loss, f.traceNorm)
        metrics.tn = f.traceNorm
      }
      if (f.ada && c.adaWeight > 0) {
        loss = add(loss, mul(f.ada.loss, c.adaWeight))
        metrics.ada = f.ada.loss
      }
      return { loss, metrics, modelState: f.state }
    },
  })
  let epoch = 0
  const countedStep = async (st: any, b: { a: TaskData; b: TaskData }) => {
    const r = await step(st, b)
    clock.stepsDone++
    if (opts.onProgress) {
      const elapsed = (performance.now() - clock.t0) / 1000
      opts.onProgress({
        run: kind,
        runIndex,
        runs: c.runs.length,
        epoch: epoch + 1,
        epochs: c.epochs,
        step: r.step - epoch * stepsPerEpoch,
        steps: stepsPerEpoch,
        metrics: r.metrics,
        elapsedSeconds: elapsed,
        etaSeconds: (elapsed / clock.stepsDone) * (clock.stepsTotal - clock.stepsDone),
      })
    }
    return r
  }
  // keeps the step's diagnose (the NaN guard's checkNumerics rerun) and release (old states freed at once)
  const counted = Object.assign(countedStep, { diagnose: step.diagnose, release: step.release })
  const epochBatches = (e: number) => {
    epoch = e
    const [ka, kb] = split(foldIn(kShuffle, e))
    const ba = batches(ka, data.expr.train, { batchSize: c.batch, dropLast: true })
    const bb = batches(kb, data.lm.train, { batchSize: c.batch, dropLast: true })
    return ba.slice(0, stepsPerEpoch).map((a, i) => ({ a, b: bb[i] }))
  }
  const tndrEpochs: number[][] = []
  const valBaseline = opts.epochValidation ? meanShapeNmeOf(data, 'val') : 0
  const epochEnd = async (st: any): Promise<Record<string, number>> => {
    if (opts.record?.traceNormsPerEpoch) tndrEpochs.push(tndr(tnInit, await norms(st.params.tasks)))
    if (!opts.epochValidation) return {}
    const m = await evaluate(mc, st.params, st.modelState, data, 'val', be)
    return { val_acc: m.acc, val_nme: m.nme, val_err: validationError(m, data.classes, valBaseline) }
  }
  const { state, history } = await (opts.fit ?? ((i: any, fc: FitConfig<any, any>) => fit(i, fc)))(
    { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 },
    {
      epochs: c.epochs,
      batches: epochBatches,
      stepsPerEpoch,
      lr: (s: number) => lr(s, steps),
      step: counted,
      label: kind,
      print: opts.print ?? null,
      ...(opts.record?.traceNormsPerEpoch || opts.epochValidation ? { onEpochEnd: epochEnd } : {}),
      ...(opts.log ? { log: (r: EpochLog) => opts.log?.({ ...r, run: kind, seed: c.seed }) } : {}),
    },
    kind,
  )
  const ev = (split: 'test' | 'val', feats = 0) =>
    evaluate(mc, state.params, state.modelState, data, split, be, {
      perImage: split === 'test' && !!opts.record?.perImage,
      features: feats,
      ...(opts.onPhase ? { onProgress: (d: number, t: number) => opts.onPhase?.(`evaluating ${kind} (${split})`, d, t) } : {}),
    })
  const test = await ev('test', opts.record?.features ?? 0)
  const val = c.val > 0 ? await ev('val') : undefined
  const tnEnd = await norms(state.params.tasks)
  const secondsPerEpoch = history.reduce((s, h) => s + h.seconds, 0) / Math.max(1, history.length)
  const { features, ...testMetrics } = test
  const embedding = opts.record?.tsne && features ? await tsne2([...features.expr, ...features.lm], be) : undefined
  // the final state's memory goes back now (cpu: its WASM blocks freed), not whenever the garbage collector finds it:
  // a process running many experiments would otherwise keep finished runs' states until the residency cap, then copy
  // them out of WASM memory on later reads. The initial tensors (a caller's pretrained trunks among them) are spared,
  // and so are the returned parameters and model state.
  const spared = [init.params, init.state, ...(opts.record?.params ? [state.params, state.modelState] : [])]
  counted.release(state, {}, new Set(spared.flatMap((t) => leaves(t as Tree<unknown>))))
  return {
    run: kind,
    seed: c.seed,
    test: testMetrics,
    ...(val ? { val: (({ features: _f, ...m }) => m)(val) } : {}),
    tnInit: total(tnInit),
    tnEnd: total(tnEnd),
    tndrLayers: tndr(tnInit, tnEnd),
    ...(opts.record?.traceNormsPerEpoch ? { tndrEpochs } : {}),
    history,
    secondsPerEpoch,
    seconds: (performance.now() - t0) / 1000,
    ...(features ? { features } : {}),
    ...(embedding ? { tsne: embedding } : {}),
    ...(opts.record?.params ? { params: { params: state.params as MultiTaskParams<HostTensor>, state: state.modelState } } : {}),
  }
}

/** Runs every run of a validated config in order; throws a RangeError naming the field on a bad config. */
export const runExperiment = async (c: ExperimentConfig, opts: RunOptions): Promise<ExperimentResult> => {
  const bad = checkExperiment(c)
  if (bad.length) throw new RangeError(`runExperiment: ${bad.join('; ')}`)
  if (opts.epochValidation && c.val === 0)
    throw new RangeError('runExperiment: epochValidation needs a validation split (config.val > 0), got val 0')
  if (opts.data && opts.data.from !== dataKey(c))
    throw new RangeError('runExperiment: opts.data was made for other data settings than this config')
  const t0 = performance.now()
  const data = opts.data ?? makeExperimentData(c, opts.onPhase && ((d, t) => opts.onPhase?.('generating faces', d, t)))
  const clock = { t0, stepsDone: 0, stepsTotal: c.runs.length * Math.floor(c.train / c.batch) * c.epochs }
  const runs: RunResult[] = []
  for (const [i, kind] of c.runs.entries()) runs.push(await trainRun(kind, i, c, data, opts, clock))
  return { config: c, runs, baselines: baselines(data), seconds: (performance.now() - t0) / 1000 }
}

/** Chance accuracy of the expression set and the NME of predicting the training mean shape on the test faces. */
export const baselines = (data: ExperimentData): ExperimentResult['baselines'] => ({
  chanceAcc: 1 / data.classes,
  meanShapeNme: meanShapeNmeOf(data, 'test'),
})
