import assert from 'node:assert/strict'
import { test } from 'node:test'
import { applyMultiTask, initMultiTask, layerTraceNorms, type MultiTaskConfig, shareFirstLayers } from '../../src/mtl/multitask.ts'
import { crossEntropy, l1, oneHotHost } from '../../src/nn/losses.ts'
import { resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { sgd } from '../../src/optim/index.ts'
import { trainStep } from '../../src/train/step.ts'
import { add, cpuBackend, fromData, key, normal, refBackend, runSync, split } from '../../src/index.ts'

const arch = (outputs: number) => ({ ...resnetLayouts.small(1, outputs, 4), blocks: [1, 1], widths: [4, 8] })

test('layerTraceNorms: LAF of each stacked conv layer equals the nuclear norm of the [D, T] matrix computed directly', () => {
  const c: MultiTaskConfig = { tasks: [arch(3), arch(2)], sharing: { kind: 'laf', gamma: 1 } }
  const { params } = initMultiTask(key(1), c)
  const norms = runSync(layerTraceNorms(params.tasks), { backend: refBackend() })
  const ws = params.tasks.map((p) => resnet.convWeights(p))
  ws[0].forEach((w0, l) => {
    const w1 = ws[1][l]
    // nuclear norm of [a b] (D × 2) = sqrt(σ1²) + sqrt(σ2²) from the 2×2 Gram matrix
    let aa = 0
    let bb = 0
    let ab = 0
    for (let i = 0; i < w0.data.length; i++) {
      aa += w0.data[i] ** 2
      bb += w1.data[i] ** 2
      ab += w0.data[i] * w1.data[i]
    }
    const tr = aa + bb
    const det = aa * bb - ab * ab
    const disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det))
    const want = Math.sqrt(tr / 2 + disc) + Math.sqrt(Math.max(0, tr / 2 - disc))
    assert.ok(Math.abs(norms[l].data[0] - want) < 1e-6 * want, `layer ${l}: ${norms[l].data[0]} vs ${want}`)
  })
})

test('hard sharing: tasks use task 0 units for the first k layers, their own after', () => {
  const { params } = initMultiTask(key(2), { tasks: [arch(3), arch(3)], sharing: { kind: 'hard', layers: 2 } })
  const shared = shareFirstLayers(params.tasks, 2)
  const w = shared.map((p) => resnet.convWeights(p))
  assert.equal(w[1][0], w[0][0])
  assert.equal(w[1][1], w[0][1])
  assert.notEqual(w[1][2], w[0][2])
  assert.throws(() => shareFirstLayers(params.tasks, 99), /shareFirstLayers: layers must be an integer in \[0, 6\], got 99/)
  assert.throws(
    () => initMultiTask(key(0), { tasks: [arch(3), resnetLayouts.small(1, 3, 4)], sharing: { kind: 'single' } }),
    /task 1 has a different architecture/,
  )
})

test('a two-task run (classification + l1 regression, LAF + ADA) decreases both task losses', async () => {
  const c: MultiTaskConfig = { tasks: [arch(3), arch(4)], sharing: { kind: 'laf', gamma: 1e-3 }, ada: { weight: 0.1, lambda: 'schedule' } }
  const init = initMultiTask(key(3), c)
  const [ka, kb, kt] = split(key(4), 3)
  const xa = normal(ka, [12, 12, 12, 1])
  const labels = fromData(
    Float32Array.from({ length: 12 }, (_, i) => i % 3),
    [12],
  )
  const ya = oneHotHost(labels, 3)
  const xb = normal(kb, [12, 12, 12, 1], 0.5, 1.5)
  const yb = normal(kt, [12, 4], 0, 0.5)
  const steps = 30
  const opt = sgd({ lr: 0.05, momentum: 0.9 })
  const step = trainStep<null, any, any>({
    optimizer: opt,
    backend: cpuBackend(),
    loss: (p, _b, s, ctx) => {
      const f = applyMultiTask(c, p, [xa, xb], s, { training: true, progress: ctx.step / steps })
      const la = crossEntropy(f.outs[0], ya)
      const lb = l1(f.outs[1], yb)
      let total = add(la, lb)
      if (f.traceNorm) total = add(total, f.traceNorm)
      if (f.ada) total = add(total, f.ada.loss)
      return { loss: total, metrics: { a: la, b: lb }, modelState: f.state }
    },
  })
  let st: any = { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 }
  const hist: { a: number; b: number }[] = []
  for (let i = 0; i < steps; i++) {
    const r = await step(st, null)
    hist.push({ a: r.metrics.a, b: r.metrics.b })
    st = r
  }
  const avg = (k: 'a' | 'b', from: number) => hist.slice(from, from + 5).reduce((s, h) => s + h[k], 0) / 5
  assert.ok(avg('a', steps - 5) < 0.7 * avg('a', 0), `task A loss ${avg('a', 0)} → ${avg('a', steps - 5)}`)
  assert.ok(avg('b', steps - 5) < 0.9 * avg('b', 0), `task B loss ${avg('b', 0)} → ${avg('b', steps - 5)}`)
})
