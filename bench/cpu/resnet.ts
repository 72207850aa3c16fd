/**
 * One SGD training step of ResNet-18 (96×96×3 inputs, batch 8, 10 classes, batch norm with batch
 * statistics, 3×3/2 max pool, global average pool, softmax cross-entropy), built from ops directly,
 * in softshare (trace, valueAndGrad, compile on the cpu backend) and in TensorFlow.js (wasm backend).
 */
import {
  add,
  batchNormMath,
  compile,
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
import { interleave, wall } from './interleave.ts'
import { type TF, tfConvDw } from './tfjs.ts'
import type { Torch } from './torch.ts'

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

/** Batch of `n` inputs and labels shared by both frameworks. */
export const batch = (seed: number, n = N) => {
  const x = normal(key(seed), [n, HW, HW, 3])
  const labels = tensor(
    Array.from({ length: n }, (_, i) => i % CLASSES),
    [n],
  )
  return { x, labels }
}

/**
 * softshare step: returns a function running one SGD step (new params and loss). Compiled: traced once, then the
 * cached plan reruns with the old parameters donated, so they stay resident in WASM memory between steps.
 */
export const softshareStep = (p0: ResNetParams, x: HostTensor, labels: HostTensor) => {
  const backend = cpuBackend()
  const f = compile(
    (a: { p: ResNetParams }) => {
      const { value, grad } = valueAndGrad((q: any) => softshareLoss(q, x, labels))(a.p as any)
      return { loss: value, params: treeZip(a.p as any, grad as any, (w: any, g: any) => sub(w, mul(g, LR))) }
    },
    { backend, donate: (a) => a.p },
  )
  let p: ResNetParams = p0
  return (): number => {
    const r = f.sync({ p }) as any
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
  readonly batch: number
  /** median wall seconds per step */
  readonly secs: number
  readonly losses: readonly number[]
}

/**
 * Times training steps at each batch size, the contenders interleaved step by step (softshare, PyTorch,
 * tfjs-wasm) after one warm-up step each. softshare and tfjs start from the same weights and batch (equal
 * losses show both train the same net); PyTorch uses its own initialisation of the same architecture.
 */
export const benchResNet = async (tf: TF, torch: Torch | undefined, log: (s: string) => void, batches = [1, 8]): Promise<StepResult[]> => {
  const p = initResNet18(1)
  const out: StepResult[] = []
  for (const n of batches) {
    const { x, labels } = batch(2, n)
    const ours = softshareStep(p, x, labels)
    const tfs = tfjsStep(tf, p, x, labels)
    const losses: number[][] = [[], [], []]
    const { medians } = await interleave(
      [wall(() => losses[0].push(ours())), torch && (() => torch.call({ op: 'resnet', N: n, HW })), wall(() => losses[2].push(tfs()))],
      n > 4 ? 5 : 9,
      1e9,
    )
    ;['softshare cpu', 'PyTorch', 'tfjs-wasm'].forEach((name, i) => {
      if (Number.isFinite(medians[i])) out.push({ name, batch: n, secs: medians[i], losses: losses[i] })
    })
    log(`resnet-18 step N${n}: ${medians.map((s) => s.toFixed(3)).join(' / ')} s (softshare / PyTorch / tfjs)`)
  }
  return out
}

/** Markdown table of the step times, with each contender's throughput relative to softshare at the same batch. */
export const resnetTable = (r: readonly StepResult[]): string =>
  [
    `| ResNet-18 train step (${HW}×${HW}, SGD) | batch | s/step (median wall) | images/s | softshare throughput / this | loss at 1st / last step |`,
    '|---|---|---|---|---|---|',
    ...r.map((s) => {
      const ours = r.find((q) => q.name === 'softshare cpu' && q.batch === s.batch)!
      const loss = s.losses.length ? `${s.losses[0].toFixed(4)} / ${s.losses[s.losses.length - 1].toFixed(4)}` : '(own init)'
      return `| ${s.name} | ${s.batch} | ${s.secs.toFixed(3)} | ${(s.batch / s.secs).toFixed(1)} | ${(s.secs / ours.secs).toFixed(2)} | ${loss} |`
    }),
  ].join('\n')
