/**
 * Training-step pieces of the device script (bench/gpu-check.ts): the two-task batch, timed resident steps, and the
 * trace-norm table (LAF, Tucker, TT at rank 16 + 10: per step read-backs, bytes read back, the largest read-back,
 * host ops, and the term's share of the step).
 */
import * as ops from '../src/index.ts'
import { type GpuDeviceStats, largestReadBetween } from '../src/backend/gpu/index.ts'
import { applyMultiTask, initMultiTask, type MultiTaskConfig, traceNormsByKind } from '../src/mtl/multitask.ts'
import { crossEntropy, l1 } from '../src/nn/losses.ts'
import { resnet, resnetLayouts } from '../src/nn/resnet.ts'
import { adam } from '../src/optim/index.ts'
import { releaseState, trainStep } from '../src/train/index.ts'
import { fmtMs, timeIt } from './lib/timing.ts'

export const CLASSES = 13
export const LANDMARKS = 136

/** One batch per task: expression classes (task A) and landmarks (task B), [n, size, size, 3] images. */
export type Batch = { a: { x: ops.HostTensor; y: ops.HostTensor }; b: { x: ops.HostTensor; y: ops.HostTensor } }

/** A deterministic batch of n images per task. */
export const makeBatch = (n: number, size: number): Batch => {
  const ks = ops.split(ops.key(100 + n), 4)
  const onehot = new Float32Array(n * CLASSES)
  ops.uniform(ks[1], [n]).data.forEach((u, i) => {
    onehot[i * CLASSES + Math.floor(u * CLASSES)] = 1
  })
  return {
    a: { x: ops.normal(ks[0], [n, size, size, 3]), y: ops.tensor(onehot, [n, CLASSES]) },
    b: { x: ops.normal(ks[2], [n, size, size, 3]), y: ops.normal(ks[3], [n, LANDMARKS]) },
  }
}

/** The two task networks: ResNet-34s, or (small) the quickstart's narrow ResNet so a software adapter finishes. */
export const taskLayouts = (small: boolean): MultiTaskConfig['tasks'] =>
  small
    ? [resnetLayouts.small(3, CLASSES, 16), resnetLayouts.small(3, LANDMARKS, 16)]
    : [resnetLayouts.resnet34(3, CLASSES), resnetLayouts.resnet34(3, LANDMARKS)]

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * The two-task training step the device scripts time: expression cross-entropy + landmark l1 + the trace norm, Adam
 * (lr 1e-3), state resident on the device; `key` for randomized SVD sketches. Returns the step and its first state.
 */
export const twoTaskStep = (be: ops.Backend<any>, mc: MultiTaskConfig, o: { readonly compile: boolean; readonly key?: ops.Key }) => {
  const init = initMultiTask(ops.key(0), mc)
  const adamOpt = adam({ lr: 1e-3 })
  const step = trainStep<Batch, any, any>({
    optimizer: adamOpt,
    backend: be,
    resident: true,
    compile: o.compile,
    loss: (p, batch, s) => {
      const f = applyMultiTask(mc, p, [batch.a.x, batch.b.x], s, { training: true, ...(o.key ? { key: o.key } : {}) })
      return { loss: ops.add(ops.add(crossEntropy(f.outs[0], batch.a.y), l1(f.outs[1], batch.b.y)), f.traceNorm!), modelState: f.state }
    },
  })
  return { step, init, state0: { params: init.params, modelState: init.state, opt: adamOpt.init(init.params), step: 0 } }
}

/** `reps` timed steps from `st` (each old state released): times and the last state. */
export const timeSteps = async <S>(step: (st: S, b: Batch) => Promise<S>, st: S, batch: Batch, reps: number) => {
  const ts: number[] = []
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now()
    const next = await step(st, batch)
    ts.push(performance.now() - t0)
    releaseState(st, next)
    st = next
  }
  return { ts, st }
}

/**
 * The table of LAF, Tucker and TT steps (Adam, γ 1e-2, state resident) at `batch` images per task: ms/step, host
 * traffic per step, and the term alone (value + subgradients kept on the device, as inside a step) with its share.
 */
export const traceNormSteps = async (o: {
  readonly backend: ops.Backend<any> & { deviceStats(): GpuDeviceStats }
  readonly small: boolean
  readonly batch: number
  readonly reps: number
  readonly batchOf: (n: number) => Batch
}): Promise<string[][]> => {
  const be = o.backend
  const rows: string[][] = [
    [
      'trace norm',
      'batch/task',
      'ms/step',
      'read-backs/step',
      'bytes read back/step',
      'largest read-back',
      'host ops/step',
      'term alone ms (value + subgradient)',
      'share of the step',
    ],
  ]
  for (const kind of ['laf', 'tucker', 'tt'] as const) {
    // Tucker/TT: rank-16 randomized SVD for unfoldings whose short side exceeds 26, the exact double-float Gram below
    const svd = kind === 'laf' ? {} : { rank: 16 }
    const key = ops.key(7)
    const mc: MultiTaskConfig = { tasks: taskLayouts(o.small), sharing: { kind, gamma: 1e-2, svd } }
    const { step, init, state0 } = twoTaskStep(be, mc, { compile: true, key })
    const batch = o.batchOf(o.batch)
    const st0: any = await step(state0, batch)
    const s0 = be.deviceStats()
    const { ts, st } = await timeSteps(step, st0, batch, o.reps)
    const s1 = be.deviceStats()
    releaseState(st)
    const ms = median(ts)
    const convs = init.params.tasks.map((p) => resnet.convWeights(p))
    const keys = ops.split(key, convs[0].length)
    const { value, grad } = ops.valueAndGrad((ws: ops.Tensor[][]) =>
      ws[0]
        .map((_, l) => traceNormsByKind[kind](ops.stackTasks(ws.map((t) => t[l])), 1e-2, kind === 'laf' ? {} : { ...svd, key: keys[l] }))
        .reduce((a, b) => ops.add(a, b)),
    )(convs)
    const keep = new Set(ops.leaves(grad as ops.Tree<ops.Tensor>))
    const termMs = await timeIt(async () => releaseState(await ops.run({ value, grad }, { backend: be, keep })), o.reps)
    rows.push([
      kind === 'laf' ? 'LAF' : `${kind === 'tt' ? 'TT' : 'Tucker'} (rank 16)`,
      String(o.batch),
      fmtMs(ms),
      ((s1.readbacks - s0.readbacks) / o.reps).toFixed(0),
      ((s1.readBytes - s0.readBytes) / o.reps).toFixed(0),
      `${largestReadBetween(s0, s1)} B`,
      ((s1.ran.host - s0.ran.host) / o.reps).toFixed(0),
      fmtMs(termMs),
      `${((100 * termMs) / ms).toFixed(1)}%`,
    ])
    console.error(`trace norm ${kind} batch ${o.batch}: ${fmtMs(ms)} ms/step, term ${fmtMs(termMs)} ms`)
  }
  return rows
}
