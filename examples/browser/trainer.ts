/**
 * The demo's training logic, free of DOM and Worker APIs (so it also runs in Node): synthetic two-domain
 * faces, the two-task small ResNet trained three ways (single-task, LAF trace-norm sharing, LAF + ADA) on
 * the same batches, and the numbers the page draws (losses, per-layer LAF trace norms, test predictions).
 */
import {
  add,
  type Backend,
  data,
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

type Task = { readonly x: HostTensor; readonly y: HostTensor }
export interface DemoData {
  readonly a: { readonly train: Task; readonly test: Task }
  /** Landmarks standardised: (y − mean shape) / scale, so a zero output predicts the mean face. */
  readonly b: { readonly train: Task; readonly test: Task }
  readonly meanShape: Float32Array
  readonly scale: number
  /** Unstandardised test landmarks [test, 136] in [0, 1]. */
  readonly testLandmarks: Float32Array
}

const rows = (t: Task, from: number, to: number): Task =>
  data.take(
    t,
    Array.from({ length: to - from }, (_, i) => from + i),
  )

/** Generates both domains (disjoint people, different rendering) and splits each into train and test. */
export const makeData = (c: DemoConfig): DemoData => {
  const [ka, kb] = split(key(c.seed))
  const n = c.train + c.test
  const fa = data.generateFaces(ka, { n, size: c.size, domain: 'A' })
  const fb = data.generateFaces(kb, { n, size: c.size, domain: 'B' })
  const lm = data.landmarkTask(fb)
  const meanShape = new Float32Array(136)
  for (let i = 0; i < c.train * 136; i++) meanShape[i % 136] += lm.y.data[i] / c.train
  let ss = 0
  for (let i = 0; i < c.train * 136; i++) ss += (lm.y.data[i] - meanShape[i % 136]) ** 2
  const scale = Math.sqrt(ss / (c.train * 136)) || 1
  const std = fromData(
    Float32Array.from(lm.y.data, (v, i) => (v - meanShape[i % 136]) / scale),
    lm.y.shape,
  )
  const a = data.expressionTask(fa)
  const b = { x: lm.x, y: std }
  return {
    a: { train: rows(a, 0, c.train), test: rows(a, c.train, n) },
    b: { train: rows(b, 0, c.train), test: rows(b, c.train, n) },
    meanShape,
    scale,
    testLandmarks: Float32Array.from(lm.y.data.subarray(c.train * 136)),
  }
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
  const arch = (outputs: number) => nn.resnetLayouts.small(1, outputs, c.width)
  const mc: MultiTaskConfig = {
    tasks: [arch(data.NUM_EXPRESSIONS), arch(136)],
    sharing: kind === 'single' ? { kind: 'single' } : { kind: 'laf', gamma: c.gamma },
    ...(kind === 'laf+ada' ? { ada: { weight: c.adaWeight, lambda: 'schedule' as const } } : {}),
  }
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
    a: data.batches(ka, d.a.train, { batchSize: c.batch, dropLast: true })[i],
    b: data.batches(kb, d.b.train, { batchSize: c.batch, dropLast: true })[i],
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
  const f = applyMultiTask(r.mc, r.state.params, [d.a.test.x, d.b.test.x], r.state.modelState, { training: false })
  const [logits, lm] = await run([f.outs[0], f.outs[1]], { backend })
  const c = data.NUM_EXPRESSIONS
  const n = d.a.test.y.shape[0]
  const expr = Array.from({ length: n }, (_, i) => {
    let best = 0
    for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j
    return best
  })
  const acc = expr.filter((p, i) => p === d.a.test.y.data[i]).length / n
  const landmarks = Float32Array.from(lm.data, (v, i) => v * d.scale + d.meanShape[i % 136])
  const m = landmarks.length / 136
  const nme = data.nme(fromData(landmarks, [m, 68, 2]), fromData(d.testLandmarks, [m, 68, 2])).mean
  return { traceNorms: await measureLayerTraceNorms(r.state.params.tasks, backend), acc, nme, expr, landmarks }
}
