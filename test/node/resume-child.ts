/**
 * A small training run for the resume test: `new OUT` starts a run directory, `resume DIR` continues one.
 * Prints `step N` after each step and `dir PATH` once open, so the parent knows when to SIGKILL it.
 */
import { batches } from '../../src/node/index.ts'
import {
  add,
  cpuBackend,
  foldIn,
  fromData,
  key,
  normal,
  mean,
  mul,
  relu,
  run,
  split,
  square,
  sub,
  type HostTensor,
  type Tensor,
} from '../../src/index.ts'
import { batchNorm } from '../../src/nn/batchnorm.ts'
import { dense } from '../../src/nn/dense.ts'
import { adam } from '../../src/optim/index.ts'
import { fitRun } from '../../src/node/run-dir.ts'
import { trainStep } from '../../src/train/index.ts'

const [mode, where] = process.argv.slice(2)
const slowMs = Number(process.env.SLOW_MS ?? 0)
const be = cpuBackend()
const [kx, kw1, kw2, kn] = split(key(11), 4)
const x = normal(kx, [80, 4])
const y = fromData(
  Float32Array.from({ length: 80 }, (_, i) => Math.sin(x.data[4 * i]) + x.data[4 * i + 1] * x.data[4 * i + 2]),
  [80, 1],
)
const rows = (t: HostTensor, a: number, b: number) => fromData(t.data.slice(a * t.shape[1], b * t.shape[1]), [b - a, t.shape[1]])
const train = { x: rows(x, 0, 64), y: rows(y, 0, 64) }
const test = { x: rows(x, 64, 80), y: rows(y, 64, 80) }
const bn = batchNorm.init({ channels: 8 })
const params = {
  l1: dense.init(kw1, { inFeatures: 4, outFeatures: 8 }),
  bn: bn.params,
  l2: dense.init(kw2, { inFeatures: 8, outFeatures: 1, init: 'glorot' }),
}
type P = typeof params
const forward = (p: P, xb: Tensor | HostTensor, s: typeof bn.state, training: boolean, noise?: ReturnType<typeof key>) => {
  let h = dense.apply(p.l1, xb)
  // PRNG noise keyed by the step: a resumed run must draw the same numbers
  if (noise) h = add(h, mul(normal(noise, [1, 8]), 0.01))
  const b = batchNorm.apply(p.bn, h, s, { training })
  return { out: dense.apply(p.l2, relu(b.y)), state: b.state }
}
const opt = adam({ lr: 0.01 })
const step = trainStep<typeof train, P, typeof bn.state>({
  optimizer: opt,
  backend: be,
  lr: (s) => 0.01 / (1 + s / 10),
  loss: (p, b, s, ctx) => {
    const f = forward(p, b.x, s, true, ctx.key)
    const mse = mean(square(sub(f.out, b.y)))
    return { loss: mse, metrics: { mse }, modelState: f.state }
  },
})
const res = await fitRun(
  { params, modelState: bn.state, opt: opt.init(params), step: 0, key: kn },
  {
    epochs: 3,
    stepsPerEpoch: 8,
    batches: (e) => batches(foldIn(key(5), e), train, { batchSize: 8, dropLast: true }),
    step,
    print: null,
    lr: (s) => 0.01 / (1 + s / 10),
    onEpochEnd: async (s) => {
      const f = forward(s.params as P, test.x, s.modelState, false)
      const [v] = (await run([mean(square(sub(f.out, test.y)))], { backend: be })) as HostTensor[]
      return { testMse: v.data[0] }
    },
    afterStep: async (s) => {
      process.stdout.write(`step ${s.step}\n`)
      if (slowMs) await new Promise((r) => setTimeout(r, slowMs))
    },
  },
  mode === 'resume'
    ? { resume: where, everySteps: 3, keep: 2, best: { metric: 'testMse' } }
    : { out: where, name: 'tiny', config: { seed: 11 }, everySteps: 3, keep: 2, best: { metric: 'testMse' } },
)
process.stdout.write(`dir ${res.dir}\n`)
process.exit(0)
