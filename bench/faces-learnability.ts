/**
 * Is the synthetic data learnable by a small CNN, and how fast? Trains a 3-conv network with Adam on the cpu
 * backend: expression classification on domain A (test accuracy) and landmark regression on domain B (test
 * NME), printing both per epoch. `npx tsx bench/faces-learnability.ts [nTrain] [epochs] [intensity] [expression|landmarks|both] [lr]`.
 * A measurement for tuning the generator, not the library's training API.
 *
 * Measured on the shared 2-core VM (about 90-150 s per epoch of 2000 faces, heavily loaded), 3-conv BN net, Adam:
 *   expression, intensity 1, lr 5e-3: chance level (0.07-0.08 test accuracy) after 4 epochs (124 steps);
 *   expression, intensity 4, lr 1e-2: 0.088, 0.096, 0.133 after epochs 1-3 (starts to learn);
 *   landmarks (domain B), lr 5e-3: test NME 0.180, 0.169, 0.138 after epochs 1-3 (predicting the mean shape:
 *   0.177), 70-95 s per epoch.
 * So at the default intensity the expression task needs far more steps (or a stronger model) than a few
 * minutes of this net; a quick demo can raise `intensity`.
 * (These numbers predate the generator's larger shifts and calmer domain A: the quickstart's small ResNet now
 * reaches 50% single-task expression accuracy in 6 epochs of 2048 faces; see README.md.)
 */
import type { Tensor } from '../src/graph/graph.ts'
import { runSync } from '../src/autodiff/run.ts'
import { valueAndGrad } from '../src/autodiff/vjp.ts'
import { cpuBackend } from '../src/backend/cpu/index.ts'
import { augment, batches, generateFaces, nme } from '../src/data/index.ts'
import {
  batchNormMath,
  conv2d,
  globalAvgPool,
  l1Loss,
  linear,
  maxPool,
  mean,
  moments,
  relu,
  reshape,
  sparseSoftmaxCrossEntropy,
} from '../src/ops/index.ts'
import { fromData, type HostTensor } from '../src/tensor/host.ts'
import { foldIn, type Key, key, normal, split } from '../src/tensor/prng.ts'

const nTrain = Number(process.argv[2] ?? 3000)
const nEpochs = Number(process.argv[3] ?? 6)
const intensity = Number(process.argv[4] ?? 1)
const only = process.argv[5]
const lr = Number(process.argv[6] ?? 5e-3)
const backend = cpuBackend()
type Params = Record<string, HostTensor>

const init = (k: Key, out: number, bias: Float32Array): Params => {
  const ks = split(k, 4)
  const he = (kk: Key, shape: number[], fanIn: number) => normal(kk, shape, 0, Math.sqrt(2 / fanIn))
  const zeros = (n: number) => fromData(new Float32Array(n), [n])
  const ones = (n: number) => fromData(new Float32Array(n).fill(1), [n])
  return {
    w1: he(ks[0], [3, 3, 1, 16], 9),
    g1: ones(16),
    b1: zeros(16),
    w2: he(ks[1], [3, 3, 16, 32], 144),
    g2: ones(32),
    b2: zeros(32),
    w3: he(ks[2], [3, 3, 32, 64], 288),
    g3: ones(64),
    b3: zeros(64),
    w4: normal(ks[3], [64, out], 0, 0.01),
    b4: fromData(bias, [out]),
  }
}
// conv -> batch norm (statistics of the batch at hand, also at test time: a measurement, not a model) -> relu
const net = (p: Record<string, Tensor>, x: Tensor): Tensor => {
  const conv = (h: Tensor, w: Tensor, g: Tensor, b: Tensor) => {
    const y = conv2d(h, w, { padding: 'same' })
    const s = moments(y, [0, 1, 2])
    return relu(batchNormMath(y, s.mean, s.variance, g, b))
  }
  let h = maxPool(conv(x, p.w1, p.g1, p.b1), { size: 2 })
  h = maxPool(conv(h, p.w2, p.g2, p.b2), { size: 2 })
  return linear(globalAvgPool(conv(h, p.w3, p.g3, p.b3)), p.w4, p.b4)
}

/** Adam on host tensors (returns new parameter and moment trees). */
const adam = (p: Params, g: Params, m: Params, v: Params, t: number, lr: number) => {
  const [np, nm, nv]: Params[] = [{}, {}, {}]
  for (const name of Object.keys(p)) {
    const P = p[name].data
    const G = g[name].data
    const M = Float32Array.from(m[name].data)
    const V = Float32Array.from(v[name].data)
    const out = Float32Array.from(P)
    for (let i = 0; i < P.length; i++) {
      M[i] = 0.9 * M[i] + 0.1 * G[i]
      V[i] = 0.999 * V[i] + 0.001 * G[i] * G[i]
      out[i] -= (lr * (M[i] / (1 - 0.9 ** t))) / (Math.sqrt(V[i] / (1 - 0.999 ** t)) + 1e-8)
    }
    np[name] = fromData(out, p[name].shape)
    nm[name] = fromData(M, p[name].shape)
    nv[name] = fromData(V, p[name].shape)
  }
  return { p: np, m: nm, v: nv }
}
const zerosLike = (p: Params): Params =>
  Object.fromEntries(Object.entries(p).map(([k, t]) => [k, fromData(new Float32Array(t.data.length), t.shape)]))

const train = (task: 'expression' | 'landmarks') => {
  const domain = task === 'expression' ? 'A' : 'B'
  const [kTrain, kTest, kInit, kShuffle] = split(key(2018), 4)
  const tr = generateFaces(kTrain, { n: nTrain, domain, intensity })
  const te = generateFaces(kTest, { n: 1000, domain, intensity })
  const out = task === 'expression' ? 13 : 136
  const meanLm = new Float32Array(136)
  for (let i = 0; i < tr.landmarks.data.length; i++) meanLm[i % 136] += tr.landmarks.data[i] / nTrain
  let params = init(kInit, out, task === 'expression' ? new Float32Array(13) : meanLm)
  let m = zerosLike(params)
  let v = zerosLike(params)
  let step = 0
  const loss = (batch: { x: HostTensor; y: HostTensor }) => (p: Record<string, Tensor>) => {
    const o = net(p, batch.x as unknown as Tensor)
    return task === 'expression' ? mean(sparseSoftmaxCrossEntropy(o, batch.y)) : l1Loss(o, reshape(batch.y, [batch.y.shape[0], 136]))
  }
  for (let e = 0; e < nEpochs; e++) {
    const t0 = performance.now()
    let total = 0
    const ds = { images: tr.images, landmarks: tr.landmarks, labels: tr.labels }
    const bs = batches(foldIn(kShuffle, e), ds, { batchSize: 64, dropLast: true })
    for (const [s, b] of bs.entries()) {
      // flips keep the class (asymmetric cues pick their side at random) and remap landmark indices
      const a = augment(foldIn(foldIn(kShuffle, e), s), b, { flipProb: 0.5, maxShift: 1 })
      const batch = { x: a.images, y: task === 'expression' ? a.labels : a.landmarks! }
      const { value, grad } = valueAndGrad(loss(batch))(params)
      const r = runSync({ value, grad }, { backend })
      step++
      ;({ p: params, m, v } = adam(params, r.grad as Params, m, v, step, lr))
      total += r.value.data[0] / bs.length
    }
    const pred = runSync(net(params as unknown as Record<string, Tensor>, te.images as unknown as Tensor), { backend })
    let metric: string
    if (task === 'expression') {
      let ok = 0
      for (let i = 0; i < 1000; i++) {
        const row = Array.from(pred.data.subarray(i * 13, i * 13 + 13))
        if (row.indexOf(Math.max(...row)) === te.labels.data[i]) ok++
      }
      metric = `test acc ${(ok / 1000).toFixed(3)}`
    } else {
      metric = `test NME ${nme(fromData(pred.data, [1000, 68, 2]), te.landmarks).mean.toFixed(4)}`
    }
    const s = ((performance.now() - t0) / 1000).toFixed(0)
    console.log(`${task} epoch ${e + 1}/${nEpochs}: train loss ${total.toFixed(4)}, ${metric}, ${s} s`)
  }
}
if (only !== 'landmarks') train('expression')
if (only !== 'expression') train('landmarks')
