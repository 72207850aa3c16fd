/**
 * The handcrafted baseline of Table 5: uniform LBP histograms (8 neighbours, radius 1, 59 bins) on a grid of
 * cells, and a multinomial logistic regression trained with softshare's autodiff.
 */
import type { Backend } from '../../backend/backend.ts'
import { add, mul, square } from '../../ops/elementwise.ts'
import { matmul } from '../../ops/matmul.ts'
import { sum } from '../../ops/reduce.ts'
import { crossEntropy } from '../../nn/losses.ts'
import { adam } from '../../optim/index.ts'
import { releaseState, trainStep } from '../../train/step.ts'
import { oneHot } from '../../data/batch.ts'
import { fromData, type HostTensor } from '../../tensor/host.ts'
import { run } from '../../autodiff/run.ts'

const transitions = (c: number): number => {
  let t = 0
  for (let i = 0; i < 8; i++) if (((c >> i) & 1) !== ((c >> ((i + 1) % 8)) & 1)) t++
  return t
}
/** Uniform-pattern map: the 58 codes with ≤ 2 bit transitions get bins 0..57, every other code bin 58. */
const UNIFORM: Uint8Array = (() => {
  const m = new Uint8Array(256)
  let b = 0
  for (let c = 0; c < 256; c++) m[c] = transitions(c) <= 2 ? b++ : 58
  return m
})()

const NB: readonly (readonly [number, number])[] = [
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
  [1, 0],
  [1, -1],
  [0, -1],
]

/** LBP histograms of images [N,S,S,1] on a grid×grid layout of cells: [N, grid²·59], each cell's histogram sums to 1. */
export const lbpFeatures = (images: HostTensor, grid = 4): HostTensor => {
  const [n, s, s2, ch] = images.shape
  if (images.shape.length !== 4 || s !== s2 || ch !== 1)
    throw new RangeError(`lbpFeatures: images must be [N,S,S,1], got [${images.shape.join(',')}]`)
  if (!Number.isInteger(grid) || grid < 1 || grid > s - 2)
    throw new RangeError(`lbpFeatures: grid must be an integer in [1, ${s - 2}], got ${grid}`)
  const d = grid * grid * 59
  const out = new Float32Array(n * d)
  const cell = (s - 2) / grid
  for (let i = 0; i < n; i++) {
    const img = images.data.subarray(i * s * s, (i + 1) * s * s)
    const counts = new Float32Array(grid * grid)
    for (let r = 1; r < s - 1; r++)
      for (let c = 1; c < s - 1; c++) {
        const v = img[r * s + c]
        let code = 0
        NB.forEach(([dr, dc], b) => {
          if (img[(r + dr) * s + c + dc] >= v) code |= 1 << b
        })
        const g = Math.min(grid - 1, Math.floor((r - 1) / cell)) * grid + Math.min(grid - 1, Math.floor((c - 1) / cell))
        out[i * d + g * 59 + UNIFORM[code]]++
        counts[g]++
      }
    for (let g = 0; g < grid * grid; g++) for (let b = 0; b < 59; b++) out[i * d + g * 59 + b] /= Math.max(1, counts[g])
  }
  return fromData(out, [n, d])
}

/**
 * Multinomial logistic regression on standardised features, full-batch Adam with an l2 penalty:
 * train x [N,D], labels [N] → test accuracy on [M,D], labels [M].
 */
export const logisticRegression = async (
  train: { x: HostTensor; y: HostTensor },
  test: { x: HostTensor; y: HostTensor },
  classes: number,
  backend: Backend<any>,
  opts: { steps?: number; lr?: number; l2?: number } = {},
): Promise<{ acc: number }> => {
  const { steps = 200, lr = 0.05, l2 = 1e-3 } = opts
  const [n, dim] = train.x.shape
  const mu = new Float64Array(dim)
  const sd = new Float64Array(dim)
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mu[j] += train.x.data[i * dim + j] / n
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sd[j] += (train.x.data[i * dim + j] - mu[j]) ** 2 / n
  const z = (x: HostTensor) =>
    fromData(
      Float32Array.from(x.data, (v, k) => (v - mu[k % dim]) / Math.sqrt(sd[k % dim] + 1e-6)),
      x.shape,
    )
  const xs = z(train.x)
  const ys = oneHot(train.y, classes)
  const opt = adam({ lr })
  const params = { w: fromData(new Float32Array(dim * classes), [dim, classes]), b: fromData(new Float32Array(classes), [classes]) }
  const step = trainStep<null, any, null>({
    optimizer: opt,
    backend,
    loss: (p) => ({ loss: add(crossEntropy(add(matmul(xs, p.w), p.b), ys), mul(sum(square(p.w)), l2)) }),
  })
  let st: any = { params, modelState: null, opt: opt.init(params), step: 0 }
  for (let i = 0; i < steps; i++) {
    // on WebGPU the state stays on the device: free each old one
    const next = await step(st, null)
    releaseState(st, next)
    st = next
  }
  const [logits] = await run([add(matmul(z(test.x), st.params.w), st.params.b)], { backend })
  releaseState(st)
  let correct = 0
  const m = test.x.shape[0]
  for (let i = 0; i < m; i++) {
    let best = 0
    for (let j = 1; j < classes; j++) if (logits.data[i * classes + j] > logits.data[i * classes + best]) best = j
    if (best === test.y.data[i]) correct++
  }
  return { acc: correct / m }
}
