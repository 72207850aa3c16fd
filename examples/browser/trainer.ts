/**
 * The demo's training logic, free of DOM and Worker APIs (so it also runs in Node): synthetic two-domain
 * faces, the two-task small ResNet trained three ways (single-task, LAF trace-norm sharing, LAF + ADA) on
 * the same batches, and the numbers the page draws (losses, per-layer LAF trace norms, test predictions).
 */
import {
  add,
  type Backend,
  data,
  experiments,
  foldIn,
  fromData,
  type HostTensor,
  key,
  type MultiTaskConfig,
  type MultiTaskParams,
  type MultiTaskState,
  measureLayerTraceNorms,
  mul,
  nn,
  optim,
  run,
  split,
  type Tensor,
  applyMultiTask,
  initMultiTask,
  train,
} from '../../src/index.ts'
import type { DemoConfig, RunKind } from './config.ts'

type Task = experiments.TaskData
export interface DemoData extends experiments.ExperimentData {
  /** Test landmarks [test, 136] in [0, 1] (the data holds them standardised). */
  readonly testLandmarks: Float32Array
}

/** The demo's settings as an experiment config (src/experiments): its data, networks and landmark scaling. */
export const experimentOf = (c: DemoConfig): experiments.ExperimentConfig => ({
  ...experiments.defaultExperiment,
  seed: c.seed,
  runs: c.runs,
  train: c.train,
  val: 0,
  test: c.test,
  size: c.size,
  width: c.width,
  batch: c.batch,
  lr: c.lr,
  gamma: { ...experiments.defaultExperiment.gamma, laf: c.gamma },
  adaWeight: c.adaWeight,
})

/** Generates both domains (disjoint people, different rendering) and splits each into train and test. */
export const makeData = (c: DemoConfig): DemoData => {
  const d = experiments.makeExperimentData(experimentOf(c))
  return { ...d, testLandmarks: experiments.unstandardise(d.lm.test.y.data, d.norm) }
}

export interface Run {
  readonly kind: RunKind
  readonly mc: MultiTaskConfig
  readonly state: train.TrainState<MultiTaskParams<HostTensor>, MultiTaskState<HostTensor>>
  readonly step: (
    s: Run['state'],
    batch: { a: Task; b: Task },
  ) => Promise<train.StepResult<MultiTaskParams<HostTensor>, MultiTaskState<HostTensor>>>
}

/** One run: every kind starts from the same initial weights (same key), so the curves differ only by the sharing. */
export const initRun = (kind: RunKind, c: DemoConfig, backend: Backend<any>): Run => {
  const mc = experiments.multiTaskOf(kind, experimentOf(c), data.NUM_EXPRESSIONS)
  const init = initMultiTask(key(c.seed + 1), mc)
  const opt = optim.adam({ lr: c.lr })
  const step = train.trainStep<{ a: Task; b: Task }, MultiTaskParams<HostTensor>, MultiTaskState<HostTensor>>({
    optimizer: opt,
    backend,
    loss: (p, batch, s, ctx) => {
      const f = applyMultiTask(mc, p, [batch.a.x, batch.b.x], s, { training: true, progress: Math.min(1, ctx.step / c.steps) })
      const ce = nn.crossEntropy(f.outs[0], data.oneHot(batch.a.y, data.NUM_EXPRESSIONS))
      const l1 = nn.l1(f.outs[1], batch.b.y)
      let loss: Tensor = add(ce, l1)
      if (f.traceNorm) loss = add(loss, f.traceNorm)
      if (f.ada) loss = add(loss, mul(f.ada.loss, c.adaWeight))
      // `task`: the two task losses alone, comparable across runs (the total adds each run's own regulariser)
      return { loss, metrics: { ce, l1, task: add(ce, l1) }, modelState: f.state }
    },
  })
  return { kind, mc, state: { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 }, step }
}

/** The batches of round r (one step of every run): a fresh key-shuffled order per epoch. */
export const roundBatch = (c: DemoConfig, d: DemoData, r: number): { a: Task; b: Task } => {
  const perEpoch = Math.floor(c.train / c.batch)
  const [ka, kb] = split(foldIn(key(c.seed + 2), Math.floor(r / perEpoch)))
  const i = r % perEpoch
  return {
    a: data.batches(ka, d.expr.train, { batchSize: c.batch, dropLast: true })[i],
    b: data.batches(kb, d.lm.train, { batchSize: c.batch, dropLast: true })[i],
  }
}

export interface Evaluation {
  /** Per conv layer, the LAF trace norm (γ = 1) of the two stacked task weights. */
  readonly traceNorms: number[]
  /** Expression accuracy on domain A's test faces; landmark NME on domain B's (inter-ocular). */
  readonly acc: number
  readonly nme: number
  /** Predicted class per test face of A; predicted landmarks [test, 136] in [0, 1] for B. */
  readonly expr: number[]
  readonly landmarks: Float32Array
}

/** Test-set predictions in eval mode (running batch-norm statistics) and the per-layer trace norms. */
export const evaluate = async (r: Run, d: DemoData, backend: Backend<any>): Promise<Evaluation> => {
  const f = applyMultiTask(r.mc, r.state.params, [d.expr.test.x, d.lm.test.x], r.state.modelState, { training: false })
  const [logits, lm] = await run([f.outs[0], f.outs[1]], { backend })
  const c = data.NUM_EXPRESSIONS
  const n = d.expr.test.y.shape[0]
  const expr = Array.from({ length: n }, (_, i) => {
    let best = 0
    for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j
    return best
  })
  const acc = expr.filter((p, i) => p === d.expr.test.y.data[i]).length / n
  const landmarks = experiments.unstandardise(lm.data, d.norm)
  const m = landmarks.length / 136
  const nme = data.nme(fromData(landmarks, [m, 68, 2]), fromData(d.testLandmarks, [m, 68, 2])).mean
  return { traceNorms: await measureLayerTraceNorms(r.state.params.tasks, backend), acc, nme, expr, landmarks }
}
