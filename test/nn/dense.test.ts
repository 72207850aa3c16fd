import assert from 'node:assert/strict'
import { test } from 'node:test'
import { batchNorm } from '../../src/nn/batchnorm.ts'
import { dense, mlp } from '../../src/nn/dense.ts'
import { heNormal } from '../../src/nn/init.ts'
import { broadcastTo, cpuBackend, key, mul, normal, refBackend, runSync, split, sub, tensor64 } from '../../src/index.ts'

const be = refBackend()
const stats = (d: ArrayLike<number>) => {
  let m = 0
  for (let i = 0; i < d.length; i++) m += d[i]
  m /= d.length
  let v = 0
  for (let i = 0; i < d.length; i++) v += (d[i] - m) ** 2
  return { mean: m, var: v / d.length }
}

test('heNormal: mean 0, variance 2/fanIn (HWIO fan-in = kh·kw·cin)', () => {
  const w = heNormal(key(1), [3, 3, 16, 64])
  const s = stats(w.data)
  assert.ok(Math.abs(s.mean) < 0.01, `mean ${s.mean}`)
  assert.ok(Math.abs(s.var / (2 / 144) - 1) < 0.05, `var ${s.var} vs ${2 / 144}`)
})

test('dense: shapes, zero bias, forward = x·w + b', () => {
  const p = dense.init(key(2), { inFeatures: 5, outFeatures: 3 })
  assert.deepEqual(p.w.shape, [5, 3])
  assert.deepEqual([...p.b.data], [0, 0, 0])
  const x = normal(key(3), [4, 5])
  const y = runSync(dense.apply(p, x), { backend: be })
  assert.deepEqual(y.shape, [4, 3])
  let want = 0
  for (let k = 0; k < 5; k++) want += x.data[5 + k] * p.w.data[k * 3 + 2]
  assert.ok(Math.abs(y.data[5] - want) < 1e-5)
  assert.throws(() => dense.init(key(0), { inFeatures: 0, outFeatures: 3 }), /dense.init: inFeatures must be a positive integer, got 0/)
})

test('mlp: the paper domain classifier sizes and output shape; ReLU keeps activation scale (He init)', () => {
  const p = mlp.init(key(4), { sizes: [512, 128, 64, 2] })
  assert.deepEqual(
    p.map((l) => l.w.shape),
    [
      [512, 128],
      [128, 64],
      [64, 2],
    ],
  )
  const x = normal(key(5), [256, 512])
  const y = runSync(mlp.apply(p, x), { backend: be })
  assert.deepEqual(y.shape, [256, 2])
  const h = runSync(dense.apply(p[0], x), { backend: be })
  // He init: pre-activation variance ≈ 2 · input variance
  const s = stats(h.data)
  assert.ok(Math.abs(s.var / 2 - 1) < 0.15, `pre-activation var ${s.var}`)
})

test('batchNorm: train normalises with batch statistics and updates running stats; eval uses running stats', () => {
  const [k1] = split(key(6))
  const x = normal(k1, [8, 4, 4, 3], 2, 3)
  const { params, state } = batchNorm.init({ channels: 3 })
  const tr = runSync(batchNorm.apply(params, x, state, { training: true, momentum: 0.9 }), { backend: be })
  assert.deepEqual(tr.y.shape, [8, 4, 4, 3])
  for (let c = 0; c < 3; c++) {
    const ch = Array.from({ length: 8 * 16 }, (_, i) => tr.y.data[i * 3 + c])
    const s = stats(ch)
    assert.ok(Math.abs(s.mean) < 1e-6 && Math.abs(s.var - 1) < 1e-3, `channel ${c}: ${JSON.stringify(s)}`)
    const xs = stats(Array.from({ length: 8 * 16 }, (_, i) => x.data[i * 3 + c]))
    assert.ok(Math.abs(tr.state.mean.data[c] - 0.1 * xs.mean) < 1e-6)
    assert.ok(Math.abs(tr.state.var.data[c] - (0.9 + 0.1 * xs.var * (128 / 127))) < 1e-5)
  }
  // state was not mutated
  assert.deepEqual([...state.mean.data], [0, 0, 0])
  const ev = runSync(batchNorm.apply(params, x, tr.state, { training: false }), { backend: be })
  const eps = 1e-5
  const want = (x.data[7] - tr.state.mean.data[1]) / Math.sqrt(tr.state.var.data[1] + eps)
  assert.ok(Math.abs(ev.y.data[7] - want) < 1e-9)
  assert.notEqual(ev.y.data[7], tr.y.data[7])
  assert.throws(() => batchNorm.apply(params, normal(key(0), [2, 5]), state, { training: true }), /batchNorm.apply: input has 5 channels/)
})

test('cpu backend: repeated-block broadcasts (per-channel vectors, as in batch norm) match ref exactly', () => {
  const x = normal(key(8), [2, 3, 4])
  for (const s of [[4], [1, 4], [3, 4], [1, 1, 4], [1, 3, 4], [], [2, 1, 4], [2, 3, 1]]) {
    const v = normal(key(9), s)
    const build = () => [mul(x, v), sub(v, x), broadcastTo(v, [2, 3, 4])]
    const want = runSync(build(), { backend: be })
    const got = runSync(build(), { backend: cpuBackend() })
    want.forEach((w, k) => {
      w.data.forEach((a, i) => {
        assert.ok(Math.abs(a - got[k].data[i]) < 1e-6, `shape [${s}] output ${k} at ${i}`)
      })
    })
  }
})

test('batchNorm: training output equals γ·(x − μ)/√(σ² + ε) + β in float64 at 1e-9 on ref (default ε 1e-5, and an explicit ε)', () => {
  // [N=3, H=2, W=2, C=3]; channel c has spread 0.1·(c+1)², so ε matters most in channel 0 (σ² ≈ 5e-3)
  const n = 12
  const C = 3
  const xs = Array.from({ length: n * C }, (_, i) => {
    const c = i % C
    return c + 0.1 * (c + 1) ** 2 * Math.sin(1.7 * i + c)
  })
  const x = tensor64(xs, [3, 2, 2, C])
  const params = { gamma: tensor64([1.5, -0.5, 2]), beta: tensor64([0.25, 1, -3]) }
  const state = { mean: tensor64([0.5, -1, 2]), var: tensor64([2, 0.5, 1]) }
  for (const eps of [undefined, 1e-3]) {
    const e = eps ?? 1e-5
    const r = runSync(batchNorm.apply(params, x, state, { training: true, momentum: 0.8, ...(eps ? { eps } : {}) }), { backend: be })
    for (let c = 0; c < C; c++) {
      const ch = Array.from({ length: n }, (_, i) => xs[i * C + c])
      const mu = ch.reduce((a, v) => a + v, 0) / n
      const v = ch.reduce((a, t) => a + (t - mu) ** 2, 0) / n
      for (let i = 0; i < n; i++) {
        const want = (params.gamma.data[c] * (ch[i] - mu)) / Math.sqrt(v + e) + params.beta.data[c]
        const got = r.y.data[i * C + c]
        assert.ok(Math.abs(got - want) <= 1e-9, `ε ${e}, channel ${c}, row ${i}: ${got} vs ${want}`)
      }
      // running statistics: momentum·old + (1 − momentum)·batch, the variance unbiased (n/(n − 1))
      assert.ok(Math.abs(r.state.mean.data[c] - (0.8 * state.mean.data[c] + 0.2 * mu)) <= 1e-12, `running mean ${c}`)
      assert.ok(Math.abs(r.state.var.data[c] - (0.8 * state.var.data[c] + 0.2 * v * (n / (n - 1)))) <= 1e-12, `running var ${c}`)
    }
  }
})
