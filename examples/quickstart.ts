/**
 * Quickstart: the paper's method end to end on synthetic faces. Task A (13-class subtle expression
 * recognition) lives on domain A, task B (68-point landmark regression, l1 loss) on a disjoint, shifted
 * domain B. Trains single-task networks, two-task LAF trace-norm sharing, and LAF + ADA with a small ResNet
 * (or, with --runs, the paper's Table 4 set: hard, cross-stitch, tucker, tt and each trace norm + ada), then
 * prints expression accuracy, landmark NME, the LAF trace norm at init and end (TNDR) and time per epoch.
 *
 *   npm start                      # default preset (a few minutes on 2 CPU cores)
 *   npm start -- --preset small    # one-minute smoke run
 *   npm start -- --epochs 10 --runs single,hard,cross-stitch,laf,tucker,tt --log runs/quickstart.jsonl --out runs/ckpt
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Faces, NUM_EXPRESSIONS, batches, expressionTask, generateFaces, landmarkTask, nme, oneHot, take } from '../src/data/index.ts'
import {
  add,
  type Backend,
  cpuBackend,
  createBackend,
  equal,
  foldIn,
  fromData,
  type HostTensor,
  key,
  max,
  mean,
  mul,
  run,
  split,
  sum,
  type Tensor,
} from '../src/index.ts'
import { measureLayerTraceNorms, tndr } from '../src/mtl/tndr.ts'
import { applyMultiTask, initMultiTask, type MultiTaskConfig, type Sharing, shareFirstLayers } from '../src/mtl/multitask.ts'
import { crossEntropy, l1 } from '../src/nn/losses.ts'
import { resnetLayouts } from '../src/nn/resnet.ts'
import { adam, schedules } from '../src/optim/index.ts'
import { jsonlLog, saveCheckpoint, ttyProgress } from '../src/node/index.ts'
import { fit, trainStep } from '../src/train/index.ts'
import { parseQuickstart, type QuickstartConfig, type RunKind, usage } from './quickstart-config.ts'

let be: Backend<any> = cpuBackend()
/**
 * Landmark targets are standardised against the training set's mean shape (so a zero output predicts the
 * mean face) and the residuals' standard deviation (so the l1 loss has the scale of the cross-entropy).
 */
interface LandmarkNorm {
  readonly mean: Float32Array
  readonly std: number
}
const landmarkNorm = (y: HostTensor, n: number): LandmarkNorm => {
  const mean = new Float32Array(136)
  for (let i = 0; i < n; i++) for (let j = 0; j < 136; j++) mean[j] += y.data[i * 136 + j] / n
  let ss = 0
  for (let i = 0; i < n; i++) for (let j = 0; j < 136; j++) ss += (y.data[i * 136 + j] - mean[j]) ** 2
  return { mean, std: Math.sqrt(ss / (n * 136)) }
}
const standardise = (y: HostTensor, m: LandmarkNorm): HostTensor =>
  fromData(
    Float32Array.from(y.data, (v, i) => (v - m.mean[i % 136]) / m.std),
    y.shape,
  )
const unstandardise = (y: ArrayLike<number>, m: LandmarkNorm): Float32Array => Float32Array.from(y, (v, i) => v * m.std + m.mean[i % 136])

type TaskData = { readonly x: HostTensor; readonly y: HostTensor }
interface Result {
  readonly run: RunKind
  readonly acc: number
  readonly nme: number
  readonly tnInit: number
  readonly tnEnd: number
  /** Per conv layer, in network order: trace norm at the end over trace norm at init (the paper's Fig. 3b). */
  readonly tndrLayers: readonly number[]
  readonly secondsPerEpoch: number
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

const splitTask = (t: TaskData, train: number) => {
  const n = t.x.shape[0]
  return { train: take(t, range(0, train)), test: take(t, range(train, n)) }
}

/** A run name is a sharing scheme, optionally with `+ada`: the two compose (ADA is orthogonal to how weights are shared). */
const sharingOf = (kind: RunKind, c: QuickstartConfig): Sharing => {
  const base = kind.replace(/\+ada$/, '') as Exclude<RunKind, `${string}+ada`>
  if (base === 'single' || base === 'cross-stitch') return { kind: base }
  if (base === 'hard') return { kind: 'hard', layers: c.hardLayers }
  return { kind: base, gamma: c.gamma, svd: { rank: c.svdRank } }
}

const archOf = (c: QuickstartConfig, outputs: number) =>
  c.arch === 'small' ? resnetLayouts.small(1, outputs, c.width) : resnetLayouts[c.arch](1, outputs)

/** Training accuracy inside the graph (ties are measure-zero for float logits). */
const batchAccuracy = (logits: Tensor, y: HostTensor): Tensor => mean(sum(mul(equal(logits, max(logits, 1, true)), y), 1))

const traceNorms = (tasks: Parameters<typeof measureLayerTraceNorms>[0]): Promise<number[]> => measureLayerTraceNorms(tasks, be)
const total = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)

/** Test-set metrics in eval mode (running batch-norm statistics), in chunks to bound memory. */
const evaluate = async (
  mc: MultiTaskConfig,
  params: any,
  state: any,
  a: TaskData,
  b: TaskData,
  norm: LandmarkNorm,
): Promise<{ acc: number; nme: number }> => {
  const chunk = 128
  let correct = 0
  const preds: number[] = []
  const n = Math.min(a.x.shape[0], b.x.shape[0])
  for (let s = 0; s < n; s += chunk) {
    const idx = range(s, Math.min(n, s + chunk))
    const xa = take({ x: a.x }, idx).x
    const xb = take({ x: b.x }, idx).x
    const f = applyMultiTask(mc, params, [xa, xb], state, { training: false })
    const [logits, lm] = (await run([f.outs[0], f.outs[1]], { backend: be })) as HostTensor[]
    const c = NUM_EXPRESSIONS
    idx.forEach((row, i) => {
      let best = 0
      for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j
      if (best === a.y.data[row]) correct++
    })
    for (const v of lm.data) preds.push(v)
  }
  const target = fromData(unstandardise(b.y.data.subarray(0, n * 136), norm), [n, 68, 2])
  return { acc: correct / n, nme: nme(fromData(unstandardise(preds, norm), [n, 68, 2]), target).mean }
}

const trainRun = async (
  kind: RunKind,
  c: QuickstartConfig,
  data: { a: ReturnType<typeof splitTask>; b: ReturnType<typeof splitTask>; norm: LandmarkNorm },
): Promise<Result> => {
  const mc: MultiTaskConfig = {
    tasks: [archOf(c, NUM_EXPRESSIONS), archOf(c, 136)],
    sharing: sharingOf(kind, c),
    ...(kind.endsWith('+ada') ? { ada: { weight: c.adaWeight, lambda: 'schedule' as const } } : {}),
  }
  const [kInit, kShuffle, kSketch] = split(key(c.seed + 1), 3)
  const init = initMultiTask(kInit, mc)
  // trace norms of the weights the networks actually use (hard sharing substitutes task 0's first layers)
  const effective = (tasks: any) => (mc.sharing.kind === 'hard' ? shareFirstLayers(tasks, mc.sharing.layers) : tasks)
  const tnInit = await traceNorms(effective(init.params.tasks))
  const stepsPerEpoch = Math.floor(c.train / c.batch)
  const steps = stepsPerEpoch * c.epochs
  const lr = schedules.cosine(c.lr, 0.05)
  const opt = adam({ lr: c.lr })
  const step = trainStep<{ a: TaskData; b: TaskData }, any, any>({
    optimizer: opt,
    backend: be,
    lr: (s) => lr(s, steps),
    loss: (p, batch, s, ctx) => {
      const f = applyMultiTask(mc, p, [batch.a.x, batch.b.x], s, {
        training: true,
        progress: ctx.step / steps,
        key: foldIn(kSketch, ctx.step),
      })
      const ya = oneHot(batch.a.y, NUM_EXPRESSIONS)
      const ce = crossEntropy(f.outs[0], ya)
      const lb = l1(f.outs[1], batch.b.y)
      let loss = add(ce, lb)
      const metrics: Record<string, Tensor> = { ce, acc: batchAccuracy(f.outs[0], ya), l1: lb }
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
  const epochBatches = (e: number) => {
    const [ka, kb] = split(foldIn(kShuffle, e))
    const ba = batches(ka, data.a.train, { batchSize: c.batch, dropLast: true })
    const bb = batches(kb, data.b.train, { batchSize: c.batch, dropLast: true })
    return ba.map((a, i) => ({ a, b: bb[i] }))
  }
  const { state, history } = await fit(
    { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 },
    {
      epochs: c.epochs,
      batches: epochBatches,
      stepsPerEpoch,
      step,
      label: kind.padEnd(12),
      progress: ttyProgress(),
      ...(c.log ? { log: jsonlLog(c.log) } : {}),
    },
  )
  const m = await evaluate(mc, state.params, state.modelState, data.a.test, data.b.test, data.norm)
  const tnEnd = await traceNorms(effective(state.params.tasks))
  if (c.out) {
    mkdirSync(c.out, { recursive: true })
    saveCheckpoint(
      join(c.out, `${kind}.ckpt`),
      { params: state.params, modelState: state.modelState },
      { run: kind, config: c, acc: m.acc, nme: m.nme },
    )
  }
  const secondsPerEpoch = history.reduce((s, h) => s + h.seconds, 0) / Math.max(1, history.length)
  return { run: kind, acc: m.acc, nme: m.nme, tnInit: total(tnInit), tnEnd: total(tnEnd), tndrLayers: tndr(tnInit, tnEnd), secondsPerEpoch }
}

const table = (rs: readonly Result[]): string => {
  const head = ['run', 'expr acc (A)', 'landmark NME (B)', 'LAF norm init', 'LAF norm end', 'TNDR', 's/epoch']
  const rows = rs.map((r) => [
    r.run,
    `${(100 * r.acc).toFixed(1)}%`,
    `${(100 * r.nme).toFixed(2)}%`,
    r.tnInit.toFixed(1),
    r.tnEnd.toFixed(1),
    (r.tnEnd / r.tnInit).toFixed(3),
    r.secondsPerEpoch.toFixed(1),
  ])
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) => `| ${cells.map((s, i) => (i === 0 ? s.padEnd(w[i]) : s.padStart(w[i]))).join(' | ')} |`
  return [
    line(head),
    `|${w.map((n, i) => (i === 0 ? `:${'-'.repeat(n + 1)}` : `${'-'.repeat(n + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

const main = async (): Promise<void> => {
  const parsed = parseQuickstart(process.argv.slice(2))
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`quickstart: ${e}\n`)
    process.stderr.write(`${usage}\n`)
    process.exit(parsed.errors.length ? 2 : 0)
  }
  const c = parsed.config
  be = await createBackend(c.backend)
  const t0 = performance.now()
  const n = c.train + c.test
  const [ka, kb] = split(key(c.seed))
  const fa: Faces = generateFaces(ka, { n, size: c.size, domain: 'A', intensity: c.intensity })
  const fb: Faces = generateFaces(kb, { n, size: c.size, domain: 'B', intensity: c.intensity })
  const lmB = landmarkTask(fb)
  const norm = landmarkNorm(lmB.y, c.train)
  const data = { a: splitTask(expressionTask(fa), c.train), b: splitTask({ x: lmB.x, y: standardise(lmB.y, norm) }, c.train), norm }
  console.log(
    `softshare quickstart (preset ${c.preset}): ${c.train}+${c.test} faces per task at ${c.size}×${c.size}, ` +
      `${c.arch} ResNet (width ${c.width}), ${c.epochs} epochs, batch ${c.batch}, Adam lr ${c.lr}, trace-norm γ ${c.gamma} (Tucker/TT SVD rank ${c.svdRank}), ADA weight ${c.adaWeight}; ` +
      `data generated in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  )
  const results: Result[] = []
  for (const kind of c.runs) results.push(await trainRun(kind, c, data))
  console.log(`\n${table(results)}\n`)
  for (const r of results) console.log(`TNDR per conv layer (${r.run}): ${r.tndrLayers.map((v) => v.toFixed(2)).join(' ')}`)
  // reference points: chance accuracy, and the NME of always predicting the training set's mean shape
  const nt = data.b.test.y.shape[0]
  const meanShape = fromData(
    Float32Array.from({ length: nt * 136 }, (_, i) => norm.mean[i % 136]),
    [nt, 68, 2],
  )
  const target = fromData(unstandardise(data.b.test.y.data, norm), [nt, 68, 2])
  console.log(
    `baselines: chance ${(100 / NUM_EXPRESSIONS).toFixed(1)}% expression accuracy, mean-shape NME ${(100 * nme(meanShape, target).mean).toFixed(2)}%; ` +
      `total time ${((performance.now() - t0) / 1000).toFixed(0)}s`,
  )
}

main().catch((e) => {
  process.stderr.write(`quickstart: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
