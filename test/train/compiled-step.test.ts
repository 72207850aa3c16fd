import assert from 'node:assert/strict'
import { test } from 'node:test'
import { oneHot as hostOneHot } from '../../src/data/batch.ts'
import { adaLambda } from '../../src/mtl/ada.ts'
import { applyMultiTask, initMultiTask, type MultiTaskConfig, needsSketchKey } from '../../src/mtl/multitask.ts'
import { crossEntropy, l1 } from '../../src/nn/losses.ts'
import { resnetLayouts } from '../../src/nn/resnet.ts'
import { oneHot } from '../../src/ops/loss.ts'
import { adam, schedules } from '../../src/optim/index.ts'
import { fit } from '../../src/train/loop.ts'
import { trainStep } from '../../src/train/step.ts'
import { add, cpuBackend, matmul, mul, square, sum, fromData, type HostTensor, key, normal, split, type Tensor } from '../../src/index.ts'
import { leaves, type Tree } from '../../src/tensor/tree.ts'

const arch = (outputs: number) => ({ ...resnetLayouts.small(1, outputs, 4), blocks: [1, 1], widths: [4, 8] })

/** Four batches of both tasks (labels as host tensors, as the experiment loaders give them). */
const batchesOf = (seed: number) =>
  Array.from({ length: 4 }, (_, i) => {
    const [ka, kb, kt] = split(key(seed + i), 3)
    return {
      xa: normal(ka, [6, 12, 12, 1]),
      ya: fromData(
        Float32Array.from({ length: 6 }, (_, j) => (i + j) % 3),
        [6],
      ),
      xb: normal(kb, [6, 12, 12, 1], 0.5, 1.5),
      yb: normal(kt, [6, 4], 0, 0.5),
    }
  })
type Batch = ReturnType<typeof batchesOf>[number]

const c: MultiTaskConfig = { tasks: [arch(3), arch(4)], sharing: { kind: 'tucker', gamma: 1e-2 }, ada: { weight: 0.1, lambda: 'schedule' } }
const steps = 8

/** The experiments' step: Adam with decoupled decay, a cosine learning rate and the ADA λ schedule, all per step. */
const stepOf = (compile: boolean, labels: 'graph' | 'host' | 'step-read' = 'graph') => {
  const opt = adam({ lr: 5e-3, weightDecay: 1e-2 })
  const lr = schedules.cosine(5e-3, 0.05)
  return {
    opt,
    step: trainStep<Batch, any, any>({
      optimizer: opt,
      backend: cpuBackend(),
      compile,
      lr: (s) => lr(s, steps),
      loss: (p, b, s, ctx) => {
        const lambda = labels === 'step-read' ? adaLambda(ctx.step / steps) : ctx.scalar((i) => adaLambda(i / steps))
        const f = applyMultiTask(c, p, [b.xa, b.xb], s, { training: true, adaLambda: lambda })
        const ya: Tensor | HostTensor = labels === 'host' ? hostOneHot(b.ya, 3) : oneHot(b.ya, 3)
        const la = crossEntropy(f.outs[0], ya)
        const total = add(add(add(la, l1(f.outs[1], b.yb)), f.traceNorm!), f.ada!.loss)
        return { loss: total, metrics: { ce: la }, modelState: f.state }
      },
    }),
  }
}

const trainFor = async (s: ReturnType<typeof stepOf>, n: number) => {
  const init = initMultiTask(key(5), c)
  const bs = batchesOf(40)
  let st: any = { params: init.params, modelState: init.state, opt: s.opt.init(init.params), step: 0 }
  const losses: number[] = []
  for (let i = 0; i < n; i++) {
    st = await s.step(st, bs[i % bs.length])
    losses.push(st.metrics.loss)
  }
  return { st, losses }
}

const sameBits = (a: unknown, b: unknown, what: string) => {
  const la = leaves(a as Tree<HostTensor>)
  const lb = leaves(b as Tree<HostTensor>)
  assert.equal(la.length, lb.length, `${what}: leaf count`)
  la.forEach((x, i) => {
    assert.deepEqual(Array.from(x.data), Array.from(lb[i].data), `${what}: leaf ${i} differs`)
  })
}

test('trainStep compile: one plan serves every step, bit-identical to tracing each step (Tucker + ADA λ schedule, lr schedule, Adam decay)', async () => {
  const traced = stepOf(false)
  const compiled = stepOf(true)
  const a = await trainFor(traced, steps)
  const b = await trainFor(compiled, steps)
  assert.deepEqual(b.losses, a.losses)
  sameBits(b.st.params, a.st.params, 'params')
  sameBits(b.st.opt, a.st.opt, 'optimiser state')
  sameBits(b.st.modelState, a.st.modelState, 'batch-norm statistics')
  assert.equal(traced.step.traces(), steps)
  assert.equal(compiled.step.traces(), 2, 'traced at the first step and once more to check what it captured')
  assert.ok(a.losses[steps - 1] < a.losses[0], `the loss decreases: ${a.losses[0]} → ${a.losses[steps - 1]}`)
})

test('trainStep compile: a loss that builds host values from its batch, or reads ctx.step, is traced every step (and stays correct)', async () => {
  const want = await trainFor(stepOf(false), 5)
  const warnings: string[] = []
  const warn = console.warn
  console.warn = (m: string) => warnings.push(m)
  try {
    const host = stepOf(true, 'host')
    const got = await trainFor(host, 5)
    assert.deepEqual(got.losses, want.losses)
    sameBits(got.st.params, want.st.params, 'params (host one-hot)')
    assert.equal(host.step.traces(), 5)
    assert.equal(warnings.length, 1)
    assert.match(
      warnings[0],
      /trainStep: compile: the loss computed a host value from the step's inputs \(a constant of shape \[6,3\] changed\)/,
    )
    const read = stepOf(true, 'step-read')
    const got2 = await trainFor(read, 5)
    assert.deepEqual(got2.losses, want.losses)
    assert.equal(read.step.traces(), 5, 'reading ctx.step ties each trace to its step')
    assert.equal(warnings.length, 1, 'reading ctx.step is not a mistake: no warning')
  } finally {
    console.warn = warn
  }
})

test('trainStep compile: a new batch shape traces anew; a non-finite schedule value names the schedule and the step', async () => {
  const s = stepOf(true)
  const init = initMultiTask(key(5), c)
  const [b] = batchesOf(40)
  let st: any = { params: init.params, modelState: init.state, opt: s.opt.init(init.params), step: 0 }
  st = await s.step(st, b)
  st = await s.step(st, b)
  const half = { xa: fromData(b.xa.data.slice(0, 3 * 144), [3, 12, 12, 1]), ya: fromData(b.ya.data.slice(0, 3), [3]), xb: b.xb, yb: b.yb }
  st = await s.step(st, half)
  assert.equal(s.step.traces(), 3)
  const bad = trainStep<null, any, any>({
    optimizer: adam({ lr: 1e-3 }),
    backend: cpuBackend(),
    compile: true,
    loss: (p, _b, _s, ctx) => ({
      loss: mul(
        sum(square(p.w)),
        ctx.scalar((i) => (i === 1 ? Number.NaN : 1)),
      ),
    }),
  })
  const w = { w: fromData(new Float32Array([1, 2]), [2]) }
  const st0 = { params: w, modelState: undefined, opt: adam({ lr: 1e-3 }).init(w), step: 0 }
  const st1 = await bad(st0, null)
  await assert.rejects(bad(st1, null), /trainStep: a ctx\.scalar schedule returned NaN at step 1/)
})

test('needsSketchKey: only a trace norm whose unfoldings take the randomized route draws sketches', () => {
  const init = initMultiTask(key(1), c)
  assert.equal(needsSketchKey(c, init.params), false, 'no rank: every unfolding exact')
  const ranked = (svd: object): MultiTaskConfig => ({ ...c, sharing: { kind: 'tucker', gamma: 1, svd } })
  // the largest unfolding's shorter side here is 8 (output channels): rank 2 + 10 oversampling spans it
  assert.equal(needsSketchKey(ranked({ rank: 2 }), init.params), false)
  assert.equal(needsSketchKey(ranked({ method: 'randomized', rank: 2, oversampling: 1 }), init.params), true)
  assert.equal(
    needsSketchKey({ ...c, sharing: { kind: 'laf', gamma: 1, svd: { rank: 1 } } }, init.params),
    false,
    'LAF over 2 tasks is thin',
  )
  assert.equal(needsSketchKey({ ...c, sharing: { kind: 'hard', layers: 1 } }, init.params), false)
  // a ranked, sketch-free norm traces without a key
  const f = applyMultiTask(ranked({ rank: 2 }), init.params, [normal(key(2), [2, 12, 12, 1]), normal(key(3), [2, 12, 12, 1])], init.state, {
    training: true,
  })
  assert.ok(f.traceNorm)
})

test('fit + trainStep release: each superseded state is donated at once (cpu), the caller initial state and the final state stay readable', async () => {
  // weights of 64 × 80 floats: results that large stay resident in WASM memory until touched
  const be = cpuBackend()
  const x = normal(key(7), [16, 64])
  const w0 = { w: normal(key(8), [64, 80]) }
  const opt = adam({ lr: 1e-2 })
  const step = trainStep<null, { w: HostTensor }, object>({
    optimizer: opt,
    backend: be,
    compile: true,
    loss: (p) => ({ loss: mul(sum(square(matmul(x, p.w))), 1e-3) }),
  })
  const seen: any[] = []
  const { state } = await fit(
    { params: w0, modelState: {}, opt: opt.init(w0), step: 0 },
    { epochs: 1, batches: () => [null, null, null, null], step, print: null, afterStep: (s) => void seen.push(s) },
  )
  assert.equal(seen.length, 4)
  assert.equal(w0.w.data.length, 64 * 80, 'the initial parameters are the caller’s: untouched')
  for (const s of seen.slice(0, 3))
    assert.throws(
      () => s.params.w.data,
      /cpu backend: this \[64,80\] tensor was donated \(an argument donated to a compiled call, or a training state a later step replaced\); its data is gone/,
    )
  assert.ok(state.params.w.data.every(Number.isFinite), 'the final state is readable')
  assert.notDeepEqual(Array.from(state.params.w.data.slice(0, 8)), Array.from(w0.w.data.slice(0, 8)))
})
