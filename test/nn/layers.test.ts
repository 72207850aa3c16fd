/** nn layers and losses against hand-computed values: losses, one-hot, accuracy, padding rule, conv, dense, MLP and batch-norm layers, pooling composite, initialisers. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { key, lift, maxPool, normal, refBackend, relu, runSync, split, tensor, tensor64 } from '../../src/index.ts'
import { batchNorm } from '../../src/nn/batchnorm.ts'
import { dense, mlp } from '../../src/nn/dense.ts'
import { conv2dLayer, convPads, im2colConv2d, maxPoolComposite, windowTaps } from '../../src/nn/conv.ts'
import { glorotUniform, onesInit, zerosInit } from '../../src/nn/init.ts'
import { accuracyHost, crossEntropy, l1, oneHotHost } from '../../src/nn/losses.ts'

const be = refBackend()
const ln = Math.log
const close = (a: number, b: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}: ${a} vs ${b}`)

test('oneHotHost: rows of the label; a non-integer, negative or too large label is named with its index', () => {
  const y = oneHotHost(tensor([2, 0, 1]), 3)
  assert.deepEqual(y.shape, [3, 3])
  assert.deepEqual([...y.data], [0, 0, 1, 1, 0, 0, 0, 1, 0])
  assert.throws(() => oneHotHost(tensor([0, 1.5]), 3), {
    name: 'RangeError',
    message: 'oneHotHost: label 1.5 at index 1 is not an integer in [0, 3)',
  })
  assert.throws(() => oneHotHost(tensor([-1]), 3), /label -1 at index 0/)
  assert.throws(() => oneHotHost(tensor([0, 3]), 3), /label 3 at index 1 is not an integer in \[0, 3\)/)
  assert.deepEqual([...oneHotHost(tensor([2]), 3).data], [0, 0, 1])
})

test('crossEntropy: mean over rows of −log softmax at the target; shapes must match and be [N, C]', () => {
  const z = tensor64([1, 2, 3, 0, 0, ln(3)], [2, 3])
  const t = tensor64([0, 0, 1, 1, 0, 0], [2, 3])
  const got = runSync(crossEntropy(z, t), { backend: be }).data[0]
  // row 0: log(e + e² + e³) − 3; row 1: log(1 + 1 + 3) − 0
  close(got, (Math.log(Math.E + Math.E ** 2 + Math.E ** 3) - 3 + Math.log(5)) / 2, 'cross-entropy')
  assert.throws(() => crossEntropy(z, tensor64([1, 0, 0], [1, 3])), {
    name: 'ShapeError',
    message: 'crossEntropy: logits [N,C] and targets must match: [2,3] vs [1,3]',
  })
  assert.throws(
    () => crossEntropy(tensor64([1, 2, 3]), tensor64([0, 0, 1])),
    /crossEntropy: logits \[N,C\] and targets must match: \[3\] vs \[3\]/,
  )
})
test('l1: mean absolute error over all elements; differing shapes are named', () => {
  const got = runSync(l1(tensor64([1, -2, 3, 0.5], [2, 2]), tensor64([0, 1, 3, -0.5], [2, 2])), { backend: be }).data[0]
  close(got, (1 + 3 + 0 + 1) / 4, 'l1')
  assert.throws(() => l1(tensor64([1, 2]), tensor64([1, 2, 3])), { name: 'ShapeError', message: 'l1: shapes differ: [2] vs [3]' })
  assert.throws(() => l1(tensor64([1, 2, 3, 4], [2, 2]), tensor64([1, 2, 3, 4], [1, 4])), /l1: shapes differ: \[2,2\] vs \[1,4\]/)
})

test('accuracyHost: argmax per row (first maximum on ties) against the label; 0 for no rows', () => {
  const logits = tensor64([0.1, 0.9, 0.0, 2, 2, 1, -1, -3, -2, 0, 0, 5], [4, 3])
  // argmaxes 1, 0 (tie: first), 0, 2
  assert.equal(accuracyHost(logits, tensor([1, 0, 0, 2])), 1)
  assert.equal(accuracyHost(logits, tensor([1, 1, 2, 2])), 0.5)
  assert.equal(accuracyHost(logits, tensor([0, 1, 1, 0])), 0)
  assert.equal(accuracyHost(tensor64([], [0, 3]), tensor([])), 0)
  // many rows with distinct values: the first-of-row argmax found here must match row by row
  const n = 40
  const c = 5
  const z = normal(key(12), [n, c])
  const arg = Array.from({ length: n }, (_, i) => {
    const row = Array.from(z.data.subarray(i * c, (i + 1) * c))
    return row.indexOf(Math.max(...row))
  })
  assert.equal(accuracyHost(z, tensor(arg)), 1)
  const shifted = arg.map((a, i) => (i % 4 === 0 ? (a + 1) % c : a))
  assert.equal(accuracyHost(z, tensor(shifted)), 30 / 40)
})

test("convPads: TF 'same' (out = ⌈in/s⌉, odd pad at the end) and 'valid'", () => {
  assert.deepEqual(convPads(7, 3, 1, 'same'), [7, 1, 1])
  assert.deepEqual(convPads(7, 3, 2, 'same'), [4, 1, 1])
  assert.deepEqual(convPads(6, 3, 2, 'same'), [3, 0, 1])
  assert.deepEqual(convPads(6, 4, 1, 'same'), [6, 1, 2])
  assert.deepEqual(convPads(5, 1, 2, 'same'), [3, 0, 0])
  assert.deepEqual(convPads(7, 3, 2, 'valid'), [3, 0, 0])
  assert.deepEqual(convPads(6, 3, 1, 'valid'), [4, 0, 0])
})

test('maxPoolComposite equals the maxPool primitive on non-negative inputs (k 2, 3; stride 1, 2; same, valid)', () => {
  const x = relu(normal(key(4), [2, 7, 6, 3]))
  for (const k of [2, 3])
    for (const s of [1, 2])
      for (const padding of ['same', 'valid'] as const) {
        const [a, b] = runSync([maxPoolComposite(x, k, s, padding), maxPool(x, { size: k, strides: s, padding })], { backend: be })
        assert.deepEqual(a.shape, b.shape, `k ${k} s ${s} ${padding}`)
        assert.deepEqual([...a.data], [...b.data], `k ${k} s ${s} ${padding}`)
      }
  assert.deepEqual(maxPoolComposite(x, 3, 2).shape, [2, 4, 3, 3])
})

test('windowTaps and im2colConv2d: errors name the op and both shapes', () => {
  assert.throws(() => windowTaps(lift(normal(key(1), [1, 2, 2, 1])), 3, 3, 1, 'valid'), {
    name: 'ShapeError',
    message: "windowTaps: window 3×3 larger than input 2×2 with 'valid' padding",
  })
  assert.throws(() => im2colConv2d(normal(key(1), [4, 4, 1]), normal(key(2), [3, 3, 1, 2])), {
    name: 'ShapeError',
    message: 'im2colConv2d: expected x [N,H,W,C] and w [KH,KW,Cin,Cout], got [4,4,1] × [3,3,1,2]',
  })
  assert.throws(() => im2colConv2d(normal(key(1), [1, 4, 4, 1]), normal(key(2), [3, 3, 1])), /im2colConv2d: expected x/)
  assert.throws(() => im2colConv2d(normal(key(1), [1, 4, 4, 2]), normal(key(2), [3, 3, 1, 2])), {
    name: 'ShapeError',
    message: 'im2colConv2d: input channels 2 ≠ filter in-channels 1: [1,4,4,2] × [3,3,1,2]',
  })
  // a 1×1 filter is a single tap (no concat); default padding 'same' keeps the spatial size
  const x = normal(key(5), [1, 3, 3, 2])
  const w = tensor64([1, 2, -1, 0.5], [1, 1, 2, 2])
  const y = runSync(im2colConv2d(x, w), { backend: be })
  assert.deepEqual(y.shape, [1, 3, 3, 2])
  close(y.data[1], x.data[0] * 2 + x.data[1] * 0.5, '1×1 conv', 1e-6)
})

test('conv2dLayer: He-normal HWIO weight, optional zero bias added per channel, positive-integer config', () => {
  const [k1, k2] = split(key(7))
  const p = conv2dLayer.init(k1, { inChannels: 2, outChannels: 3, kernel: 3 })
  assert.deepEqual(p.w.shape, [3, 3, 2, 3])
  assert.equal(p.b, undefined)
  const pb = conv2dLayer.init(k1, { inChannels: 2, outChannels: 3, kernel: 3, bias: true })
  assert.deepEqual([...pb.b!.data], [0, 0, 0])
  for (const bad of [
    { inChannels: 0, outChannels: 3, kernel: 3 },
    { inChannels: 2, outChannels: 1.5, kernel: 3 },
    { inChannels: 2, outChannels: 3, kernel: -1 },
  ]) {
    const name = Object.entries(bad).find(([, v]) => !Number.isInteger(v) || v <= 0)![0]
    assert.throws(() => conv2dLayer.init(k1, bad), {
      name: 'RangeError',
      message: new RegExp(`conv2dLayer.init: ${name} must be a positive integer`),
    })
  }
  const x = normal(k2, [1, 5, 5, 2])
  const b = tensor64([1, -2, 0.5])
  const [plain, biased, strided, valid] = runSync(
    [
      conv2dLayer.apply(p, x),
      conv2dLayer.apply({ w: p.w, b }, x),
      conv2dLayer.apply(p, x, { strides: 2 }),
      conv2dLayer.apply(p, x, { padding: 'valid' }),
    ],
    { backend: be },
  )
  assert.deepEqual(plain.shape, [1, 5, 5, 3])
  assert.deepEqual(strided.shape, [1, 3, 3, 3])
  assert.deepEqual(valid.shape, [1, 3, 3, 3])
  for (let i = 0; i < biased.data.length; i++) close(biased.data[i], plain.data[i] + b.data[i % 3], `bias at ${i}`, 1e-9)
})

test('glorotUniform: within ±√(6/(fanIn + fanOut)), spread over the range; zerosInit / onesInit', () => {
  const w = glorotUniform(key(9), [4, 4, 8, 16])
  const lim = Math.sqrt(6 / (4 * 4 * 8 + 16))
  let lo = Infinity
  let hi = -Infinity
  let m2 = 0
  for (const v of w.data) {
    lo = Math.min(lo, v)
    hi = Math.max(hi, v)
    m2 += v * v
  }
  assert.ok(lo >= -lim && hi <= lim, `range [${lo}, ${hi}] vs ±${lim}`)
  assert.ok(lo < -0.95 * lim && hi > 0.95 * lim, `range [${lo}, ${hi}] should fill ±${lim}`)
  // U(±L) has variance L²/3
  close(m2 / w.data.length, (lim * lim) / 3, 'variance', 0.05)
  assert.deepEqual(w.shape, [4, 4, 8, 16])
  assert.deepEqual([...zerosInit([2, 2]).data], [0, 0, 0, 0])
  assert.deepEqual(onesInit([3]).shape, [3])
  assert.deepEqual([...onesInit([3]).data], [1, 1, 1])
})

test('dense and mlp: config errors are named; Glorot on request; ReLU between MLP layers and none after the last', () => {
  assert.throws(() => dense.init(key(0), { inFeatures: 2, outFeatures: 0 }), {
    name: 'RangeError',
    message: 'dense.init: outFeatures must be a positive integer, got 0',
  })
  assert.throws(() => dense.init(key(0), { inFeatures: 2.5, outFeatures: 3 }), /dense.init: inFeatures must be a positive integer, got 2.5/)
  assert.throws(() => mlp.init(key(0), { sizes: [4] }), {
    name: 'RangeError',
    message: 'mlp.init: sizes needs at least [in, out], got [4]',
  })
  // [in, out] is enough: one layer
  const single = mlp.init(key(0), { sizes: [3, 2] })
  assert.equal(single.length, 1)
  assert.deepEqual(single[0].w.shape, [3, 2])
  // Glorot U(±√(6/(in+out))) = ±0.5 for 12 + 12: He N(0, 2/12) would exceed it somewhere in 144 draws
  const lim = Math.sqrt(6 / 24)
  const g = dense.init(key(3), { inFeatures: 12, outFeatures: 12, init: 'glorot' })
  const h = dense.init(key(3), { inFeatures: 12, outFeatures: 12 })
  assert.ok(g.w.data.every((v) => Math.abs(v) <= lim))
  assert.ok(h.w.data.some((v) => Math.abs(v) > lim))
  assert.deepEqual([...g.b.data], Array(12).fill(0))
  const p = mlp.init(key(4), { sizes: [3, 4, 2] })
  assert.deepEqual(
    p.map((l) => [l.w.shape, l.b.shape]),
    [
      [[3, 4], [4]],
      [[4, 2], [2]],
    ],
  )
  assert.ok(p[1].w.data.every((v) => Math.abs(v) <= Math.sqrt(6 / 6)))
  const layers = [
    { w: tensor64([1, -1, 0.5, 2, 0, -1, -1, 1, 1, 0, 0, 0], [3, 4]), b: tensor64([0.5, -0.5, 0, 1]) },
    { w: tensor64([1, -2, 0.5, 1, -1, 0, 2, -3], [4, 2]), b: tensor64([-1, 0.25]) },
  ]
  const x = tensor64([1, 2, -1, 0.5, -1, 2], [2, 3])
  const y = runSync(mlp.apply(layers, x), { backend: be })
  // by hand: hidden = relu(x·w₁ + b₁), out = hidden·w₂ + b₂ (no ReLU: negative outputs stay)
  const want: number[] = []
  for (let n = 0; n < 2; n++) {
    const hid = [0, 1, 2, 3].map((j) =>
      Math.max(
        0,
        [0, 1, 2].reduce((a, i) => a + x.data[n * 3 + i] * layers[0].w.data[i * 4 + j], layers[0].b.data[j]),
      ),
    )
    for (let j = 0; j < 2; j++) want.push(hid.reduce((a, v, i) => a + v * layers[1].w.data[i * 2 + j], layers[1].b.data[j]))
  }
  assert.ok(want.some((v) => v < 0))
  for (let i = 0; i < want.length; i++) close(y.data[i], want[i], `mlp output ${i}`)
})

test('batchNorm: config and shape errors (γ of rank 2 too); default momentum 0.9; a batch of one leaves the variance estimate at 0', () => {
  assert.throws(() => batchNorm.init({ channels: 0 }), {
    name: 'RangeError',
    message: 'batchNorm.init: channels must be a positive integer, got 0',
  })
  assert.throws(() => batchNorm.init({ channels: 1.5 }), /batchNorm.init: channels must be a positive integer, got 1.5/)
  const { params, state } = batchNorm.init({ channels: 2 })
  assert.deepEqual([...params.gamma.data, ...params.beta.data, ...state.mean.data, ...state.var.data], [1, 1, 0, 0, 0, 0, 1, 1])
  assert.throws(
    () => batchNorm.apply({ gamma: tensor64([1, 1, 1]), beta: tensor64([0, 0]) }, tensor64([1, 2], [1, 2]), state, { training: true }),
    {
      name: 'RangeError',
      message: 'batchNorm.apply: input has 2 channels (shape [1,2]) but gamma has shape [3]',
    },
  )
  // a γ of rank 2 whose first axis is C is still not a per-channel vector
  assert.throws(
    () => batchNorm.apply({ gamma: tensor64([1, 1], [2, 1]), beta: tensor64([0, 0]) }, tensor64([1, 2], [1, 2]), state, { training: true }),
    { name: 'RangeError', message: 'batchNorm.apply: input has 2 channels (shape [1,2]) but gamma has shape [2,1]' },
  )
  const x = tensor64([1, 4, 3, 8], [2, 2])
  const r = runSync(batchNorm.apply(params, x, state, { training: true }), { backend: be })
  // batch mean (2, 6), biased variance (1, 4), unbiased (2, 8): running = 0.9·old + 0.1·batch
  assert.deepEqual(
    [...r.state.mean.data].map((v) => Math.round(v * 1e12) / 1e12),
    [0.2, 0.6],
  )
  assert.deepEqual(
    [...r.state.var.data].map((v) => Math.round(v * 1e12) / 1e12),
    [1.1, 1.7],
  )
  const one = runSync(batchNorm.apply(params, tensor64([5, -3], [1, 2]), state, { training: true }), { backend: be })
  assert.deepEqual(
    [...one.state.var.data].map((v) => Math.round(v * 1e12) / 1e12),
    [0.9, 0.9],
  )
  assert.deepEqual([...one.y.data], [0, 0])
  // eval mode: (x − running mean)/√(running var + ε)·γ + β with the state left as it was
  const ev = runSync(batchNorm.apply({ gamma: tensor64([2, 1]), beta: tensor64([0, 1]) }, x, r.state, { training: false, eps: 0.01 }), {
    backend: be,
  })
  close(ev.y.data[3], ((8 - r.state.mean.data[1]) / Math.sqrt(r.state.var.data[1] + 0.01)) * 1 + 1, 'eval')
  close(ev.y.data[0], ((1 - r.state.mean.data[0]) / Math.sqrt(r.state.var.data[0] + 0.01)) * 2, 'eval')
  assert.deepEqual([...ev.state.var.data], [...r.state.var.data])
})
