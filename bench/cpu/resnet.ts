/**
 * One SGD training step of ResNet-18 (96×96×3 inputs, batch 8, 10 classes, batch norm with batch
 * statistics, 3×3/2 max pool, global average pool, softmax cross-entropy), built from ops directly,
 * in softshare (trace, valueAndGrad, runSync on the cpu backend) and in TensorFlow.js (wasm backend).
 */
import {
  add,
  batchNormMath,
  conv2d,
  cpuBackend,
  globalAvgPool,
  type HostTensor,
  key,
  linear,
  maxPool,
  mean,
  moments,
  mul,
  normal,
  relu,
  runSync,
  split,
  sparseSoftmaxCrossEntropy,
  sub,
  type Tensor,
  tensor,
  treeZip,
  valueAndGrad,
  zeros,
  ones,
} from '../../src/index.ts'
import { measureBoth } from './kernels.ts'
import { type TF, tfConvDw } from './tfjs.ts'

const N = 8
const HW = 96
const CLASSES = 10
const WIDTHS = [64, 128, 256, 512]
const BLOCKS = [2, 2, 2, 2]
const LR = 0.01

interface BN {
  readonly gamma: HostTensor
  readonly beta: HostTensor
}
interface Block {
  readonly w1: HostTensor
  readonly bn1: BN
  readonly w2: HostTensor
  readonly bn2: BN
  readonly proj: readonly { readonly w: HostTensor; readonly bn: BN }[]
}
export interface ResNetParams {
  readonly stem: HostTensor
  readonly stemBn: BN
  readonly blocks: readonly Block[]
  readonly fc: { readonly w: HostTensor; readonly b: HostTensor }
}

const he = (k: ReturnType<typeof key>, shape: number[]) => normal(k, shape, 0, Math.sqrt(2 / (shape[0] * shape[1] * shape[2])))
const bnInit = (c: number): BN => ({ gamma: ones([c]), beta: zeros([c]) })

/** He-initialised ResNet-18 parameters (float32 host tensors). */
export const initResNet18 = (seed: number): ResNetParams => {
  let k = key(seed)
  const next = () => {
    const [a, b] = split(k)
    k = a
    return b
  }
  const blocks: Block[] = []
  let cin = 64
  WIDTHS.forEach((c, stage) => {
    for (let b = 0; b < BLOCKS[stage]; b++) {
      const down = b === 0 && stage > 0
      blocks.push({
        w1: he(next(), [3, 3, cin, c]),
        bn1: bnInit(c),
        w2: he(next(), [3, 3, c, c]),
        bn2: bnInit(c),
        proj: down ? [{ w: he(next(), [1, 1, cin, c]), bn: bnInit(c) }] : [],
      })
      cin = c
    }
  })
  return {
    stem: he(next(), [7, 7, 3, 64]),
    stemBn: bnInit(64),
    blocks,
    fc: { w: normal(next(), [512, CLASSES], 0, 0.05), b: zeros([CLASSES]) },
  }
}

/** Block strides in order (2 on the first block of stages 2..4). */
const blockStrides = BLOCKS.flatMap((n, stage) => Array.from({ length: n }, (_, b) => (b === 0 && stage > 0 ? 2 : 1)))

/** softshare forward + loss: x `[N,96,96,3]`, labels `[N]` → mean cross-entropy. */
export const softshareLossForProfile = (p: any, x: HostTensor, labels: HostTensor): Tensor => softshareLoss(p, x, labels)
const softshareLoss = (p: any, x: HostTensor, labels: HostTensor): Tensor => {
  const bn = (h: Tensor, q: any) => {
    const m = moments(h, [0, 1, 2])
    return batchNormMath(h, m.mean, m.variance, q.gamma, q.beta)
  }
  let h = relu(bn(conv2d(x, p.stem, { strides: 2, padding: 'same' }), p.stemBn))
  h = maxPool(h, { size: 3, strides: 2, padding: 'same' })
  p.blocks.forEach((b: any, i: number) => {
    const s = blockStrides[i]
    const y = bn(conv2d(relu(bn(conv2d(h, b.w1, { strides: s, padding: 'same' }), b.bn1)), b.w2, { padding: 'same' }), b.bn2)
    const skip = b.proj.length ? bn(conv2d(h, b.proj[0].w, { strides: s, padding: 'same' }), b.proj[0].bn) : h
    h = relu(add(y, skip))
  })
  return mean(sparseSoftmaxCrossEntropy(linear(globalAvgPool(h), p.fc.w, p.fc.b), labels))
}

/** Batch of inputs and labels shared by both frameworks. */
export const batch = (seed: number) => {
  const x = normal(key(seed), [N, HW, HW, 3])
  const labels = tensor(
    Array.from({ length: N }, (_, i) => i % CLASSES),
    [N],
  )
  return { x, labels }
}

/** softshare step: returns a function running trace + differentiate + run (new params and loss). */
export const softshareStep = (p0: ResNetParams, x: HostTensor, labels: HostTensor) => {
  const backend = cpuBackend()
  let p: ResNetParams = p0
  return (): number => {
    const { value, grad } = valueAndGrad((q: any) => softshareLoss(q, x, labels))(p as any)
    const next = treeZip(p as any, grad as any, (w: any, g: any) => sub(w, mul(g, LR)))
    const r = runSync({ loss: value, params: next }, { backend }) as any
    p = r.params
    return r.loss.data[0]
  }
}

/** The same step in TensorFlow.js: conv gradients via a custom gradient (dx: conv2dTranspose; dw: see tfConvDw). */
export const tfjsStep = (tf: TF, p0: ResNetParams, xh: HostTensor, lh: HostTensor) => {
  // needDx = false for the stem: its input is data (tfjs's own conv gradient skips unneeded inputs too)
  const conv = (s: number, needDx = true) =>
    tf.customGrad((x: any, w: any, save: any) => {
      save([x, w])
      const pads = (k: number, n: number) => {
        const t = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0)
        return [t >> 1, t - (t >> 1)]
      }
      return {
        value: tf.conv2d(x, w, s, 'same'),
        gradFunc: (dy: any, [xs, ws]: any) => [
          needDx ? tf.conv2dTranspose(dy, ws, xs.shape, s, 'same') : tf.zerosLike(xs),
          tfConvDw(tf, xs, dy, ws.shape, s, [...pads(ws.shape[0], xs.shape[1]), ...pads(ws.shape[1], xs.shape[2])]),
        ],
      }
    }) as any
  const convs = [conv(1), conv(2)]
  const stem = conv(2, false)
  const leavesOf = (p: ResNetParams): HostTensor[] => {
    const out: HostTensor[] = [p.stem, p.stemBn.gamma, p.stemBn.beta]
    for (const b of p.blocks) {
      out.push(b.w1, b.bn1.gamma, b.bn1.beta, b.w2, b.bn2.gamma, b.bn2.beta)
      for (const q of b.proj) out.push(q.w, q.bn.gamma, q.bn.beta)
    }
    out.push(p.fc.w, p.fc.b)
    return out
  }
  let params = leavesOf(p0).map((t) => tf.tensor(Float32Array.from(t.data), [...t.shape]))
  const x = tf.tensor(Float32Array.from(xh.data), [...xh.shape])
  const y = tf.oneHot(tf.tensor1d(Int32Array.from(lh.data), 'int32'), CLASSES)
  const loss = (...ps: any[]) => {
    let i = 0
    const take = () => ps[i++]
    const bn = (h: any) => {
      const [g, b] = [take(), take()]
      const m = tf.moments(h, [0, 1, 2])
      return tf.add(tf.mul(tf.sub(h, m.mean), tf.mul(g, tf.rsqrt(tf.add(m.variance, 1e-5)))), b)
    }
    let h = tf.relu(bn(stem(x, take())))
    h = tf.maxPool(h as any, 3, 2, 'same')
    for (const s of blockStrides) {
      const a = tf.relu(bn(convs[s - 1](h, take())))
      const yb = bn(convs[0](a, take()))
      const skip = s === 2 ? bn(convs[1](h, take())) : h
      h = tf.relu(tf.add(yb, skip))
    }
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]), take()), take())
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)))
  }
  return (): number => {
    const { value, grads } = tf.valueAndGrads(loss)(params)
    const next = params.map((p, i) => tf.sub(p, tf.mul(grads[i], LR)))
    const l = value.dataSync()[0]
    tf.dispose([value, ...grads, ...params])
    params = next
    return l
  }
}

export interface StepResult {
  readonly name: string
  readonly secs: number
  /** process CPU seconds per step (all threads) */
  readonly cpu: number
  readonly losses: readonly number[]
}

/** Times training steps in each framework after a warm-up step; equal losses show both train the same net. */
export const benchResNet = async (tf: TF, log: (s: string) => void): Promise<StepResult[]> => {
  const p = initResNet18(1)
  const { x, labels } = batch(2)
  const out: StepResult[] = []
  for (const [name, step] of [
    ['softshare cpu', softshareStep(p, x, labels)],
    ['tfjs-wasm', tfjsStep(tf, p, x, labels)],
  ] as const) {
    const losses = [step()] // warm-up step (JIT, kernel setup), untimed
    const { wall: secs, cpu } = await measureBoth(() => losses.push(step()))
    out.push({ name, secs, cpu, losses })
    log(`resnet-18 step ${name}: ${secs.toFixed(2)} s`)
  }
  return out
}

/** Markdown table of the step times. */
export const resnetTable = (r: readonly StepResult[]): string =>
  [
    '| ResNet-18 train step (N8, 96×96) | s/step (wall) | images/s | CPU s/step (all threads) | loss at 1st / last step |',
    '|---|---|---|---|---|',
    ...r.map(
      (s) =>
        `| ${s.name} | ${s.secs.toFixed(2)} | ${(N / s.secs).toFixed(1)} | ${s.cpu.toFixed(2)} | ${s.losses[0].toFixed(4)} / ${s.losses[s.losses.length - 1].toFixed(4)} |`,
    ),
    '',
    `softshare speed-up: ${(r[1].secs / r[0].secs).toFixed(1)}×`,
  ].join('\n')
