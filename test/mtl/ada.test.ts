import assert from 'node:assert/strict'
import { test } from 'node:test'
import { adaLambda, adaLoss, domainClassifierSizes, gradReverse, initDomainClassifier } from '../../src/mtl/ada.ts'
import { checkVjp } from '../../src/testing/index.ts'
import { grad, key, mul, normal, refBackend, runSync, sum, tanh, tensor64, type Tensor } from '../../src/index.ts'

const be = refBackend()

test('gradReverse: identity forward, exactly −λ times the gradient backward', () => {
  const x = tensor64([
    [0.3, -1.2, 2.0],
    [0.5, 0.1, -0.7],
  ])
  const f = (t: Tensor) => sum(mul(tanh(t), t))
  const y = runSync(gradReverse(x, 0.7), { backend: be })
  assert.deepEqual([...y.data], [...x.data])
  const g = runSync(grad((t: Tensor) => f(t))(x), { backend: be })
  const gr = runSync(grad((t: Tensor) => f(gradReverse(t, 0.7)))(x), { backend: be })
  g.data.forEach((v, i) => {
    assert.equal(gr.data[i], -0.7 * v)
  })
})

test('gradReverse: checkVjp sees analytic = −λ · finite difference', () => {
  const x = tensor64([0.2, -0.4, 1.1])
  for (const lambda of [0, 0.5, 2]) {
    const rev = checkVjp((t) => tanh(gradReverse(t, lambda)), [x])
    // forward is tanh(x), so finite differences see +J; the VJP must report exactly −λ times that
    assert.ok(Math.abs(rev.analytic - -lambda * rev.numeric) <= 1e-5 * Math.max(1, Math.abs(rev.numeric)), `λ=${lambda}: ${rev.message}`)
  }
})

test('adaLambda: 0 at the start, → 1 at the end, monotone', () => {
  assert.equal(adaLambda(0), 0)
  assert.ok(Math.abs(adaLambda(1) - 0.9999092) < 1e-6)
  assert.ok(adaLambda(0.2) < adaLambda(0.4))
})

test('adaLoss: domain classifier sizes scale from the paper (512-128-64-2); loss is log 2 for a zero classifier', () => {
  assert.deepEqual(domainClassifierSizes({ features: 512, domains: 2 }), [512, 128, 64, 2])
  assert.deepEqual(domainClassifierSizes({ features: 64, domains: 2 }), [64, 16, 8, 2])
  const c = initDomainClassifier(key(1), { features: 8, domains: 2 })
  const zero = c.map((l) => ({ w: tensor64(new Float64Array(l.w.data.length), l.w.shape), b: l.b }))
  const f = [normal(key(2), [3, 8]), normal(key(3), [5, 8])]
  const { loss, labels } = adaLoss(zero, f, 1)
  assert.deepEqual(labels.shape, [8, 2])
  assert.ok(Math.abs(runSync(loss, { backend: be }).data[0] - Math.log(2)) < 1e-9)
  assert.throws(() => adaLoss(c, [f[0]], 1), /adaLoss: needs features of at least 2 tasks/)
})
