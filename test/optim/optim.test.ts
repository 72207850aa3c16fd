import assert from 'node:assert/strict'
import { test } from 'node:test'
import type * as optim from '../../src/optim/index.ts'
import { adam, schedules, sgd } from '../../src/optim/index.ts'
import { grad, type HostTensor, mul, refBackend, runSync, square, sub, sum, type Tensor, tensor, tensor64 } from '../../src/index.ts'

const be = refBackend()
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12, `${a} vs ${b}`)
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

/**
 * Exact steps: three updates with fixed gradients (not derived from a loss, so each expected value is the update
 * rule alone) on ref in float64, against values computed by hand. Leaves: w `[1, 2]` (a weight: rank 2, decayed)
 * and b `[1]` (a bias: never decayed). Expected rows list w₀, w₁, b after steps 1, 2, 3.
 */
const grads = [
  { w: [[0.5, 1]], b: [-1] },
  { w: [[-0.25, 2]], b: [0.5] },
  { w: [[1, -1]], b: [2] },
]
const threeSteps = (opt: ReturnType<typeof sgd> | ReturnType<typeof adam>): number[][] => {
  let params: { w: HostTensor; b: HostTensor } = { w: tensor64([[1, -2]]), b: tensor64([0.5]) }
  let state: any = opt.init(params)
  const rows: number[][] = []
  for (const g of grads) {
    const u = opt.update(state, { w: tensor64(g.w), b: tensor64(g.b) }, params)
    const r = runSync({ p: u.params, s: u.state }, { backend: be }) as any
    params = r.p
    state = r.s
    rows.push([...params.w.data, ...params.b.data])
  }
  return rows
}
const assertRows = (got: number[][], want: number[][], what: string): void => {
  got.forEach((row, s) => {
    row.forEach((v, i) => {
      assert.ok(
        Math.abs(v - want[s][i]) <= 1e-12 * (1 + Math.abs(want[s][i])),
        `${what}: step ${s + 1}, leaf value ${i}: ${v} vs ${want[s][i]}`,
      )
    })
  })
}

test('sgd exact steps: heavy-ball momentum (v ← μv + g, w ← w − lr·v)', () => {
  // lr 0.1, μ 0.9. v₁ = g₁ = (0.5, 1, −1) → (0.95, −2.1, 0.6); v₂ = 0.9·v₁ + g₂ = (0.2, 2.9, −0.4) → (0.93, −2.39, 0.64);
  // v₃ = 0.9·v₂ + g₃ = (1.18, 1.61, 1.64) → (0.812, −2.551, 0.476)
  assertRows(
    threeSteps(sgd({ lr: 0.1, momentum: 0.9 })),
    [
      [0.95, -2.1, 0.6],
      [0.93, -2.39, 0.64],
      [0.812, -2.551, 0.476],
    ],
    'momentum',
  )
})

test('sgd exact steps: Nesterov (w ← w − lr·(g + μ·v_new))', () => {
  // step 1: v₁ = g₁, step = g₁ + 0.9·g₁ = 1.9·g₁ → (0.905, −2.19, 0.69);
  // step 2: v₂ = (0.2, 2.9, −0.4), step = g₂ + 0.9·v₂ = (−0.07, 4.61, 0.14) → (0.912, −2.651, 0.676);
  // step 3: v₃ = (1.18, 1.61, 1.64), step = g₃ + 0.9·v₃ = (2.062, 0.449, 3.476) → (0.7058, −2.6959, 0.3284)
  assertRows(
    threeSteps(sgd({ lr: 0.1, momentum: 0.9, nesterov: true })),
    [
      [0.905, -2.19, 0.69],
      [0.912, -2.651, 0.676],
      [0.7058, -2.6959, 0.3284],
    ],
    'nesterov',
  )
})

test('sgd exact steps: coupled weight decay on the weight only, with momentum and with Nesterov', () => {
  // λ 0.1 adds 0.1·w to w's gradient: step 1 g_w = (0.5 + 0.1, 1 − 0.2) = (0.6, 0.8) → w (0.94, −2.08), b as without decay
  assertRows(
    threeSteps(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 })),
    [
      [0.94, -2.08, 0.6],
      [0.9016, -2.3312, 0.64],
      [0.758024, -2.433968, 0.476],
    ],
    'momentum + decay',
  )
  // μ 0.5, Nesterov: step 1 g_w = (0.6, 0.8), step = 1.5·g → w (0.91, −2.12), b 0.5 + 0.15 = 0.65
  assertRows(
    threeSteps(sgd({ lr: 0.1, momentum: 0.5, weightDecay: 0.1, nesterov: true })),
    [
      [0.91, -2.12, 0.65],
      [0.91885, -2.4082, 0.6],
      [0.75154225, -2.276777, 0.3],
    ],
    'nesterov + decay',
  )
})

test('adam exact steps: bias-corrected moments (m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)), and AdamW decoupled decay', () => {
  // step 1: m̂ = g, v̂ = g², so each leaf moves by lr·g/(|g| + ε) = ±0.1·(1 − 2e-8/|g|)
  assertRows(
    threeSteps(adam({ lr: 0.1 })),
    [
      [0.900000002, -2.099999999, 0.599999999],
      [0.8733662987078463, -2.1965182009718336, 0.6266337026290968],
      [0.8075551396770898, -2.2385271310318133, 0.5809005239739765],
    ],
    'adam',
  )
  // β₁ 0.5, β₂ 0.75 make the correction large; step 2 for w₀: m₂ = 0.5·0.25 + 0.5·(−0.25) = 0, so w₀ stays put
  assertRows(
    threeSteps(adam({ lr: 0.1, beta1: 0.5, beta2: 0.75 })),
    [
      [0.900000002, -2.099999999, 0.599999999],
      [0.900000002, -2.201162828163779, 0.599999999],
      [0.8202582071214264, -2.2113333067294825, 0.5202582035650355],
    ],
    'adam β (0.5, 0.75)',
  )
  // decay 0.1: w ← w − lr·λ·w − lr·update (decay on the weight only; b as plain Adam)
  assertRows(
    threeSteps(adam({ lr: 0.1, weightDecay: 0.1 })),
    [
      [0.890000002, -2.079999999, 0.599999999],
      [0.8544662986878463, -2.1557182009818336, 0.6266337026290968],
      [0.7801104766702113, -2.176169949031995, 0.5809005239739765],
    ],
    'adamw',
  )
})

test('optimisers: update takes an lr override; state trees mirror the params (zeros, step count 0); Nesterov without momentum is plain SGD', () => {
  const params = { w: tensor64([[1, -2]]), b: tensor64([0.5]) }
  const g = { w: tensor64([[0.5, 1]]), b: tensor64([-1]) }
  const st = sgd({ lr: 0.1, momentum: 0.9 }).init(params)
  assert.deepEqual([...(st.velocity as any).w.data], [0, 0])
  assert.deepEqual((st.velocity as any).w.shape, [1, 2])
  const a = adam({ lr: 0.1 }).init(params)
  assert.deepEqual([...(a.count as HostTensor).data], [0])
  assert.deepEqual([...(a.m as any).b.data, ...(a.v as any).w.data], [0, 0, 0])
  // lr 0.5 instead of the configured 0.1: w ← w − 0.5·g
  const o = sgd({ lr: 0.1 })
  const r = runSync(o.update(o.init(params), g, params, 0.5).params as unknown, { backend: be }) as any
  assert.deepEqual([...r.w.data, ...r.b.data], [0.75, -2.5, 1])
  const n = sgd({ lr: 0.1, nesterov: true })
  const rn = runSync(n.update(n.init(params), g, params).params as unknown, { backend: be }) as any
  assertRows([[...rn.w.data, ...rn.b.data]], [[0.95, -2.1, 0.6]], 'nesterov, μ 0')
  const ad = adam({ lr: 0.1 })
  const ra = runSync(ad.update(ad.init(params), g, params, 0.01).params as unknown, { backend: be }) as any
  assertRows([[...ra.w.data, ...ra.b.data]], [[0.9900000002, -2.0099999999, 0.5099999999]], 'adam, lr 0.01')
})

test('optimisers: hyperparameters out of range and mismatched trees are named', () => {
  assert.throws(() => sgd({ lr: 0.1, momentum: 1 }), { name: 'RangeError', message: 'sgd: momentum must be in [0, 1), got 1' })
  assert.throws(() => sgd({ lr: 0.1, momentum: -0.1 }), /sgd: momentum must be in \[0, 1\), got -0.1/)
  assert.throws(() => sgd({ lr: 0.1, weightDecay: -1 }), /sgd: weightDecay must be in \[0, Infinity\), got -1/)
  assert.throws(() => sgd({ lr: Number.NaN }), /sgd: lr must be in \[0, Infinity\), got NaN/)
  assert.throws(() => adam({ lr: -0.1 }), /adam: lr must be in \[0, Infinity\), got -0.1/)
  assert.throws(() => adam({ lr: 0.1, beta1: 1 }), /adam: beta1 must be in \[0, 1\), got 1/)
  assert.throws(() => adam({ lr: 0.1, beta2: 1.5 }), /adam: beta2 must be in \[0, 1\), got 1.5/)
  assert.doesNotThrow(() => sgd({ lr: 0, momentum: 0, weightDecay: 0 }))
  assert.doesNotThrow(() => adam({ lr: 0, beta1: 0, beta2: 0 }))
  assert.equal(sgd({ lr: 0.1 }).name, 'sgd')
  assert.equal(adam({ lr: 0.1 }).name, 'adam')
  const params = { w: tensor64([1, 2]), b: tensor64([3]) }
  const o = sgd({ lr: 0.1 })
  assert.throws(() => o.update(o.init(params), { w: tensor64([1, 2]) }, params), {
    name: 'TypeError',
    message: 'sgd.update: trees differ: 2 state leaves, 1 gradients, 2 parameters',
  })
  const a = adam({ lr: 0.1 })
  assert.throws(
    () => a.update(a.init(params), params, { w: tensor64([1, 2]) }),
    /adam.update: trees differ: 2 state leaves, 2 gradients, 1 parameters/,
  )
})

test('schedules: constant; cosine from lr to lr·floor, clamped past the end', () => {
  assert.equal(schedules.constant(0.3)(17, 100), 0.3)
  const c = schedules.cosine(0.1)
  close(c(0, 100), 0.1)
  close(c(50, 100), 0.05)
  close(c(25, 100), 0.05 * (1 + Math.SQRT1_2))
  close(c(100, 100), 0)
  close(c(150, 100), 0)
  const f = schedules.cosine(0.1, 0.2)
  close(f(0, 10), 0.1)
  close(f(5, 10), 0.1 * (0.2 + 0.8 * 0.5))
  close(f(10, 10), 0.02)
  // total 0: no division by zero, the end value
  close(f(0, 0), 0.1)
})

/** The primitive names of the ops (not constants) that a traced result depends on. */
const opsOf = (t: Tensor): string[] => {
  const seen = new Set<Tensor>()
  const out: string[] = []
  const walk = (n: Tensor): void => {
    if (seen.has(n)) return
    seen.add(n)
    if (n.prim.name !== 'const') out.push(n.prim.name)
    n.inputs.forEach(walk)
  }
  walk(t)
  return out.sort()
}

test('optimisers trace no momentum, Nesterov or decay ops when those are 0 (plain SGD is w − lr·g: two ops per leaf)', () => {
  const params = { w: tensor64([[1, -2]]) }
  const g = { w: tensor64([[0.5, 1]]) }
  const traced = (o: optim.Optimizer<any>) => opsOf((o.update(o.init(params), g, params).params as any).w)
  for (const o of [sgd({ lr: 0.1 }), sgd({ lr: 0.1, momentum: 0, weightDecay: 0 }), sgd({ lr: 0.1, nesterov: true })])
    assert.deepEqual(traced(o), ['mul', 'sub'])
  // momentum adds μ·v + g (add, mul); decay adds g + λ·w (add, mul)
  assert.deepEqual(traced(sgd({ lr: 0.1, momentum: 0.9 })), ['add', 'mul', 'mul', 'sub'])
  assert.deepEqual(traced(sgd({ lr: 0.1, weightDecay: 0.1 })), ['add', 'mul', 'mul', 'sub'])
  // Adam: t (add), 1 − βᵗ twice (pow, sub), m (mul, mul, add), v (mul, mul, mul, add), m̂/(√v̂ + ε) (div ×3, sqrt, add), w − lr·u (mul, sub)
  const plainAdam = traced(adam({ lr: 0.1, weightDecay: 0 }))
  assert.equal(plainAdam.length, 19, plainAdam.join(','))
  assert.equal(traced(adam({ lr: 0.1, weightDecay: 0.1 })).length, 21)
})
