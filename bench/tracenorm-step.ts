/**
 * Cost of the trace-norm regularisers (value + subgradient) against one real training step of the same networks:
 * two ResNet-34s (13-way expression head, 136-d landmark head) at 96 × 96 × 3 on the `cpu` backend, built as the
 * quickstart builds them (initMultiTask → applyMultiTask → trainStep with Adam; cross-entropy + l1), WITHOUT the
 * regulariser, at batch 1 and 4 per task, extrapolated linearly to the paper's 256 per task. The regularisers run
 * over the same 36 conv stacks ([kh, kw, cin, cout, 2], stacking included) of the same initial parameters.
 * Everything is timed in one process and interleaved round by round (a shared VM drifts); best of N rounds.
 *
 * Run: npx tsx bench/tracenorm-step.ts [--reps N] [--no-randomized] [--rank K] [--batches 1,4[,16…]]
 *      (every item is timed in N rounds, default 3, after one warm-up round; K: rank of the randomized Tucker/TT SVDs, default 8)
 */
import os from 'node:os'
import * as ss from '../src/index.ts'
import { applyMultiTask, initMultiTask, type MultiTaskConfig } from '../src/mtl/multitask.ts'
import { crossEntropy, l1 } from '../src/nn/losses.ts'
import { resnet, resnetLayouts } from '../src/nn/resnet.ts'
import { adam } from '../src/optim/index.ts'
import { trainStep } from '../src/train/index.ts'
import { fmtMs, type Norm, normName, norms, padTable, pct } from './lib/tracenorm.ts'

const args = process.argv.slice(2)
const reps = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : 3
const rank = args.includes('--rank') ? Number(args[args.indexOf('--rank') + 1]) : 8
const withRandomized = !args.includes('--no-randomized')
const INPUT = 96 // the paper's 96 × 96 crops
const PAPER_BATCH = 256 // per task (paper, Sec. 4)
// images per task; the first two give the linear extrapolation, any further ones check it
const BATCHES = args.includes('--batches') ? args[args.indexOf('--batches') + 1].split(',').map(Number) : [1, 4]
if (BATCHES.length < 2 || !BATCHES.every((n) => Number.isInteger(n) && n > 0) || BATCHES[0] === BATCHES[1])
  throw new RangeError(`tracenorm-step: --batches needs at least two positive integers, the first two distinct, got ${BATCHES.join(',')}`)
const CLASSES = 13
const LANDMARKS = 136

const cpu = ss.cpuBackend()
const mc: MultiTaskConfig = {
  tasks: [resnetLayouts.resnet34(3, CLASSES), resnetLayouts.resnet34(3, LANDMARKS)],
  sharing: { kind: 'single' },
}
const init = initMultiTask(ss.key(0), mc)
const opt = adam({ lr: 1e-3 })

interface Batch {
  readonly a: { readonly x: ss.HostTensor; readonly y: ss.HostTensor }
  readonly b: { readonly x: ss.HostTensor; readonly y: ss.HostTensor }
}
/** Random images and targets for `n` images per task (the cost of a step does not depend on the values). */
const batchOf = (n: number): Batch => {
  const ks = ss.split(ss.key(100 + n), 4)
  const labels = ss.uniform(ks[1], [n]).data
  const onehot = new Float32Array(n * CLASSES)
  labels.forEach((u, i) => {
    onehot[i * CLASSES + Math.floor(u * CLASSES)] = 1
  })
  return {
    a: { x: ss.normal(ks[0], [n, INPUT, INPUT, 3]), y: ss.tensor(onehot, [n, CLASSES]) },
    b: { x: ss.normal(ks[2], [n, INPUT, INPUT, 3]), y: ss.normal(ks[3], [n, LANDMARKS]) },
  }
}

// the quickstart's step, minus the trace-norm term
const step = trainStep<Batch, any, any>({
  optimizer: opt,
  backend: cpu,
  loss: (p, batch, s) => {
    const f = applyMultiTask(mc, p, [batch.a.x, batch.b.x], s, { training: true })
    return { loss: ss.add(crossEntropy(f.outs[0], batch.a.y), l1(f.outs[1], batch.b.y)), modelState: f.state }
  },
})
const state0 = { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 }

const convs = init.params.tasks.map((p) => resnet.convWeights(p))
/** Trace + run of Σ_layers norm(stack of the T tasks' conv weights) and its gradient w.r.t. every conv weight; returns the trace time (ms). */
const regulariser = async (norm: Norm, o: ss.SvdOptions): Promise<number> => {
  const t0 = performance.now()
  const { value, grad } = ss.valueAndGrad((ws: ss.Tensor[][]) =>
    ws[0].map((_, l) => norms[norm](ss.stackTasks(ws.map((t) => t[l])), o)).reduce((a, b) => ss.add(a, b)),
  )(convs)
  const traced = performance.now() - t0
  await ss.run({ value, grad }, { backend: cpu })
  return traced
}

interface Item {
  readonly label: string
  readonly route: string
  /** Resolves to the trace time (ms) where the item measures it. */
  readonly f: () => Promise<unknown>
  best: number
  /** Trace time in the best round. */
  traceMs: number
}

const main = async (): Promise<void> => {
  const load0 = os.loadavg()
  console.log(`# trace-norm regularisers vs one two-task ResNet-34 training step (cpu backend, 96×96×3)`)
  console.log(
    `${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} · node ${process.version} · best of ${reps} rounds after 1 warm-up`,
  )
  console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}\n`)
  const batches = new Map(BATCHES.map((n) => [n, batchOf(n)]))
  const items: Item[] = [
    ...BATCHES.map((n) => ({
      label: `step, ${n} img/task`,
      route: 'fwd+bwd+Adam',
      f: () => step(state0, batches.get(n)!),
      best: Infinity,
      traceMs: Number.NaN,
    })),
    {
      label: 'LAF',
      route: 'exact = thin W(WᵀW)^{+½}',
      f: () => regulariser('laf', { method: 'exact' }),
      best: Infinity,
      traceMs: Number.NaN,
    },
    ...(withRandomized
      ? (['tucker', 'tt'] as const).map((n) => ({
          label: normName(n),
          route: `auto: thin ≤ 8, randomized k=${rank}`,
          f: () => regulariser(n, { rank, key: ss.key(7) }),
          best: Infinity,
          traceMs: Number.NaN,
        }))
      : []),
  ]
  for (let r = 0; r <= reps; r++) {
    for (const it of items) {
      const t0 = performance.now()
      const traced = await it.f()
      const ms = performance.now() - t0
      if (r > 0 && ms < it.best) {
        it.best = ms
        it.traceMs = typeof traced === 'number' ? traced : Number.NaN
      }
      console.error(`round ${r}: ${it.label} ${fmtMs(ms)}`)
    }
  }
  const ts = BATCHES.map((n) => items.find((it) => it.label === `step, ${n} img/task`)!.best)
  /** Line through the step times at batches i and j, evaluated at n images per task. */
  const linear = (i: number, j: number) => (n: number) => ts[i] + ((ts[j] - ts[i]) / (BATCHES[j] - BATCHES[i])) * (n - BATCHES[i])
  const last = BATCHES.length - 1
  // the first two batches give the headline extrapolation; with more, the last two give a second one (closer to linear)
  const fits =
    last > 1
      ? [
          [0, 1],
          [last - 1, last],
        ]
      : [[0, 1]]
  const paper = fits.map(([i, j]) => ({ i, j, t: linear(i, j)(PAPER_BATCH), perImage: linear(i, j)(1) - linear(i, j)(0) }))
  console.log(
    `training step (2 tasks, fwd + bwd + Adam, no regulariser): ${BATCHES.map((n, i) => `${fmtMs(ts[i])} at ${n} img/task`).join(', ')}`,
  )
  for (const f of paper)
    console.log(
      `  from ${BATCHES[f.i]} and ${BATCHES[f.j]} img/task: marginal ${fmtMs(f.perImage)} per image per task; at the paper's ${PAPER_BATCH} img/task ${fmtMs(f.t)} (linear extrapolation, not measured)`,
    )
  BATCHES.slice(2).forEach((n, i) => {
    console.log(
      `  check at ${n} img/task: line through ${BATCHES[0]} and ${BATCHES[1]} predicts ${fmtMs(linear(0, 1)(n))}, measured ${fmtMs(ts[i + 2])}`,
    )
  })
  console.log('')
  const regs = items.filter((it) => !it.label.startsWith('step'))
  const rows = regs.map((it) => [
    it.label,
    it.route,
    fmtMs(it.best),
    fmtMs(it.traceMs),
    ...ts.map((t) => pct((100 * it.best) / t)),
    ...paper.map((f) => pct((100 * it.best) / f.t)),
  ])
  const head = [
    'norm',
    'SVD route',
    'value+grad, 36 convs',
    'of which trace',
    ...BATCHES.map((n) => `% of step, ${n} img/task`),
    ...paper.map((f) => `% of step, ${PAPER_BATCH} img/task (extrap. ${BATCHES[f.i]},${BATCHES[f.j]})`),
  ]
  console.log(padTable(head, rows))
  if (!withRandomized) console.log('\nrandomized Tucker/TT skipped (--no-randomized)')
  console.log(
    `\nload average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
}

main().catch((e) => {
  process.stderr.write(`tracenorm-step: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
