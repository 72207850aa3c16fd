import assert from 'node:assert/strict'
import { test } from 'node:test'
import { adam, sgd } from '../../src/optim/index.ts'
import { grad, type HostTensor, runSync, refBackend, square, sub, sum, tensor, type Tensor, mul } from '../../src/index.ts'

const be = refBackend()
// f(w) = Σ c·(w − t)², minimum at t
const target = tensor([1, -2, 3, 0.5])
const scale = tensor([1, 4, 0.25, 2])
const loss = (p: { w: Tensor }) => sum(mul(scale, square(sub(p.w, target))))

const runOpt = (opt: ReturnType<typeof sgd> | ReturnType<typeof adam>, steps: number) => {
  let params: { w: HostTensor } = { w: tensor([0, 0, 0, 0]) }
  let state: any = opt.init(params)
  for (let i = 0; i < steps; i++) {
    const g = grad(loss)(params)
    const u = opt.update(state, g, params)
    const r = runSync({ p: u.params, s: u.state }, { backend: be }) as any
    params = r.p
    state = r.s
  }
  return params.w
}

test('sgd: first step is w − lr·g exactly; momentum converges on a quadratic', () => {
  const one = runOpt(sgd({ lr: 0.1 }), 1)
  // g = 2c(w − t) at w = 0 → −2c·t
  const want = [0.2 * 1, 0.8 * -2, 0.05 * 3, 0.4 * 0.5]
  one.data.forEach((v, i) => {
    assert.ok(Math.abs(v - want[i]) < 1e-6, `${i}: ${v} vs ${want[i]}`)
  })
  const w = runOpt(sgd({ lr: 0.05, momentum: 0.9 }), 200)
  w.data.forEach((v, i) => {
    assert.ok(Math.abs(v - target.data[i]) < 1e-3, `${i}: ${v}`)
  })
})

test('sgd: weight decay acts on rank ≥ 2 weights only; state is a fresh tree (inputs untouched)', () => {
  const opt = sgd({ lr: 0.1, weightDecay: 0.5 })
  const params = { w: tensor([[2]]), b: tensor([2]) }
  const zero = { w: tensor([[0]]), b: tensor([0]) }
  const st = opt.init(params)
  const r = runSync(opt.update(st, zero, params).params as unknown, { backend: be }) as any
  assert.ok(Math.abs(r.w.data[0] - (2 - 0.1 * 0.5 * 2)) < 1e-9)
  assert.equal(r.b.data[0], 2)
  assert.equal(params.w.data[0], 2)
  assert.throws(() => sgd({ lr: -1 }), /sgd: lr must be in \[0, Infinity\), got -1/)
})

test('adam: first step moves each coordinate by ≈ lr (bias-corrected), converges on an ill-scaled quadratic', () => {
  const one = runOpt(adam({ lr: 0.01 }), 1)
  one.data.forEach((v, i) => {
    assert.ok(Math.abs(Math.abs(v) - 0.01) < 1e-6, `${i}: ${v}`)
  })
  const w = runOpt(adam({ lr: 0.05 }), 600)
  w.data.forEach((v, i) => {
    assert.ok(Math.abs(v - target.data[i]) < 1e-2, `${i}: ${v}`)
  })
})
