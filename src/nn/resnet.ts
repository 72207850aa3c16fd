/**
 * ResNet with basic blocks (He et al. 2016), NHWC, batch norm after every conv. Depth and widths are
 * configurable; `resnetLayouts` holds the standard 18/34 stage layouts and the narrow quickstart variant.
 * The head pools the final map to a feature vector (the paper's 3×3 average pool on 96×96 inputs, i.e. a
 * global average pool of the 3×3 map; for other input sizes the pool covers the whole final map too) and
 * ends in a dense layer.
 */
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { Tensor, TensorLike } from '../graph/graph.ts'
import { lift } from '../graph/graph.ts'
import { add, relu } from '../ops/elementwise.ts'
import { avgPool, maxPool } from '../ops/pool.ts'
import { reshape } from '../ops/shape.ts'
import type { HostTensor } from '../tensor/host.ts'
import { type Key, split } from '../tensor/prng.ts'
import { ShapeError } from '../tensor/shape.ts'
import { batchNorm, type BatchNormParams, type BatchNormState } from './batchnorm.ts'
import { type Conv2dParams, conv2dLayer } from './conv.ts'
import { dense, type DenseParams } from './dense.ts'

const PosInt = t.refinement(t.number, (v) => Number.isInteger(v) && v > 0, 'PositiveInteger')

/** io-ts codec of `ResNetConfig` (same name as the type): validates configs read from files or flags. */
export const ResNetConfig = t.readonly(
  t.type({
    inChannels: PosInt,
    outputs: PosInt,
    stem: t.readonly(t.type({ width: PosInt, kernel: PosInt, strides: PosInt, maxPool: t.boolean })),
    widths: t.readonlyArray(PosInt),
    blocks: t.readonlyArray(PosInt),
  }),
  'ResNetConfig',
)

/** Decodes an unknown value (parsed JSON) to a ResNetConfig; Left lists each bad field as `path: expected …, got …`. */
export const decodeResNetConfig = (u: unknown): Either<string[], ResNetConfig> => {
  const r = ResNetConfig.decode(u)
  if (isLeft(r))
    return left(
      r.left.map((e) => {
        const path = e.context
          .slice(1)
          .map((c) => c.key)
          .join('.')
        return `${path || '<root>'}: expected ${e.context[e.context.length - 1].type.name}, got ${JSON.stringify(e.value)}`
      }),
    )
  return right(r.right)
}

export interface ResNetConfig {
  readonly inChannels: number
  /** Output width of the final dense layer (classes, or 2·68 landmark coordinates). */
  readonly outputs: number
  /** Stem: one k×k conv with stride, then an optional 3×3 stride-2 max pool. */
  readonly stem: { readonly width: number; readonly kernel: number; readonly strides: number; readonly maxPool: boolean }
  /** Channels per stage; stages after the first halve the resolution. */
  readonly widths: readonly number[]
  /** Basic blocks per stage. */
  readonly blocks: readonly number[]
}

/** Standard layouts (paper: ResNet-34 on 96×96 inputs) and the narrow variant for the quickstart (48×48). */
export const resnetLayouts = {
  resnet18: (inChannels: number, outputs: number): ResNetConfig => ({
    inChannels,
    outputs,
    stem: { width: 64, kernel: 7, strides: 2, maxPool: true },
    widths: [64, 128, 256, 512],
    blocks: [2, 2, 2, 2],
  }),
  resnet34: (inChannels: number, outputs: number): ResNetConfig => ({
    inChannels,
    outputs,
    stem: { width: 64, kernel: 7, strides: 2, maxPool: true },
    widths: [64, 128, 256, 512],
    blocks: [3, 4, 6, 3],
  }),
  /** 48×48 → stem s2 (24) → stages 24, 12, 6 (3 stages, 1 block each): 7 convs, cheap on 2 CPU cores. */
  small: (inChannels: number, outputs: number, width = 8): ResNetConfig => ({
    inChannels,
    outputs,
    stem: { width, kernel: 3, strides: 2, maxPool: false },
    widths: [width, 2 * width, 4 * width],
    blocks: [1, 1, 1],
  }),
}

/** One conv and the batch norm after it: the unit that LAF stacks and hard sharing shares. */
export interface ConvBn<L> {
  readonly conv: Conv2dParams<L>
  readonly bn: BatchNormParams<L>
}
export interface BlockParams<L = TensorLike> {
  readonly a: ConvBn<L>
  readonly b: ConvBn<L>
  /** 1×1 projection on the skip path when the shape changes. */
  readonly down?: ConvBn<L>
}
export interface ResNetParams<L = TensorLike> {
  readonly stem: ConvBn<L>
  readonly stages: readonly (readonly BlockParams<L>[])[]
  readonly head: DenseParams<L>
}
export interface BlockState<L = TensorLike> {
  readonly a: BatchNormState<L>
  readonly b: BatchNormState<L>
  readonly down?: BatchNormState<L>
}
export interface ResNetState<L = TensorLike> {
  readonly stem: BatchNormState<L>
  readonly stages: readonly (readonly BlockState<L>[])[]
}

const validate = (c: ResNetConfig): void => {
  const posInt = (n: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resnet.init: ${n} must be a positive integer, got ${v}`)
  }
  posInt('inChannels', c.inChannels)
  posInt('outputs', c.outputs)
  posInt('stem.width', c.stem.width)
  if (c.widths.length === 0 || c.widths.length !== c.blocks.length)
    throw new RangeError(
      `resnet.init: widths [${c.widths.join(',')}] and blocks [${c.blocks.join(',')}] must be non-empty and of equal length`,
    )
  c.widths.forEach((w, i) => {
    posInt(`widths[${i}]`, w)
  })
  c.blocks.forEach((b, i) => {
    posInt(`blocks[${i}]`, b)
  })
}

const convBnInit = (k: Key, cin: number, cout: number, kernel: number): { p: ConvBn<HostTensor>; s: BatchNormState<HostTensor> } => {
  const bn = batchNorm.init({ channels: cout })
  return { p: { conv: conv2dLayer.init(k, { inChannels: cin, outChannels: cout, kernel }), bn: bn.params }, s: bn.state }
}

const convBnApply = (q: ConvBn<TensorLike>, st: BatchNormState, h: Tensor, strides: number, training: boolean) =>
  batchNorm.apply(q.bn, conv2dLayer.apply(q.conv, h, { strides, padding: 'same' }), st, { training })

/** Block stride: the first block of every stage after the first downsamples. */
const strideOf = (stage: number, block: number): number => (stage > 0 && block === 0 ? 2 : 1)

export const resnet = {
  /** Parameters (He-initialised convs, BN γ=1 β=0, Glorot head) and batch-norm state. */
  init: (key: Key, c: ResNetConfig): { params: ResNetParams<HostTensor>; state: ResNetState<HostTensor> } => {
    validate(c)
    const [ks, kb, kh] = split(key, 3)
    const stem = convBnInit(ks, c.inChannels, c.stem.width, c.stem.kernel)
    let cin = c.stem.width
    const stageKeys = split(kb, c.widths.length)
    const stages = c.widths.map((w, si) => {
      const bks = split(stageKeys[si], c.blocks[si])
      return bks.map((bk, bi) => {
        const [k1, k2, k3] = split(bk, 3)
        const a = convBnInit(k1, cin, w, 3)
        const b = convBnInit(k2, w, w, 3)
        const down = strideOf(si, bi) !== 1 || cin !== w ? convBnInit(k3, cin, w, 1) : undefined
        cin = w
        return {
          p: { a: a.p, b: b.p, ...(down ? { down: down.p } : {}) } as BlockParams<HostTensor>,
          s: { a: a.s, b: b.s, ...(down ? { down: down.s } : {}) } as BlockState<HostTensor>,
        }
      })
    })
    const head = dense.init(kh, { inFeatures: cin, outFeatures: c.outputs, init: 'glorot' })
    return {
      params: { stem: stem.p, stages: stages.map((st) => st.map((b) => b.p)), head },
      state: { stem: stem.s, stages: stages.map((st) => st.map((b) => b.s)) },
    }
  },

  /** x `[N,H,W,in]` → pooled features `[N, widths.at(-1)]`, outputs `[N, outputs]`, next batch-norm state. */
  apply: (
    p: ResNetParams,
    x: TensorLike,
    s: ResNetState,
    opts: { training: boolean; config: ResNetConfig },
  ): { features: Tensor; out: Tensor; state: ResNetState<Tensor> } => {
    const stem = resnet.applyStem(p, x, s, opts)
    let h = stem.h
    const stages = p.stages.map((_, si) => {
      const r = resnet.applyStage(p, si, h, s, opts)
      h = r.h
      return r.state
    })
    return { ...resnet.applyHead(p, h), state: { stem: stem.state, stages } }
  },

  /** The stem alone (conv, BN, relu, optional max pool): x `[N,H,W,in]` → h `[N,H',W',stem.width]`; for models that act between stages (cross-stitch). */
  applyStem: (
    p: ResNetParams,
    x: TensorLike,
    s: ResNetState,
    opts: { training: boolean; config: ResNetConfig },
  ): { h: Tensor; state: BatchNormState<Tensor> } => {
    const c = opts.config
    const xt = lift(x)
    if (xt.shape.length !== 4 || xt.shape[3] !== c.inChannels)
      throw new ShapeError(`resnet.apply: expected x [N,H,W,${c.inChannels}], got [${xt.shape.join(',')}]`)
    const stem = convBnApply(p.stem, s.stem, xt, c.stem.strides, opts.training)
    const h = relu(stem.y)
    return { h: c.stem.maxPool ? maxPool(h, { size: 3, strides: 2, padding: 'same' }) : h, state: stem.state }
  },

  /** Residual stage `si`: h `[N,H,W,C]` → h `[N,H',W',widths[si]]` and that stage's batch-norm states. */
  applyStage: (
    p: ResNetParams,
    si: number,
    x: Tensor,
    s: ResNetState,
    opts: { training: boolean },
  ): { h: Tensor; state: BlockState<Tensor>[] } => {
    let h = x
    const state = p.stages[si].map((bp, bi) => {
      const bs = s.stages[si][bi]
      const stride = strideOf(si, bi)
      const a = convBnApply(bp.a, bs.a, h, stride, opts.training)
      const b = convBnApply(bp.b, bs.b, relu(a.y), 1, opts.training)
      const skip = bp.down && bs.down ? convBnApply(bp.down, bs.down, h, stride, opts.training) : undefined
      h = relu(add(b.y, skip ? skip.y : h))
      return { a: a.state, b: b.state, ...(skip ? { down: skip.state } : {}) } as BlockState<Tensor>
    })
    return { h, state }
  },

  /** The head: the final map `[N,H,W,C]` average-pooled to features `[N,C]` (the paper's pool over the whole map), then the dense layer → `[N, outputs]`. */
  applyHead: (p: ResNetParams, h: Tensor): { features: Tensor; out: Tensor } => {
    const [n, fh, fw, fc] = h.shape
    const features = reshape(avgPool(h, { size: [fh, fw] }), [n, fc])
    return { features, out: dense.apply(p.head, features) }
  },

  /** Rebuilds the parameters with every conv+BN unit mapped, in network order (stem, then each block's a, b, down). */
  mapLayers: <L>(p: ResNetParams<L>, f: (layer: ConvBn<L>, index: number) => ConvBn<L>): ResNetParams<L> => {
    let i = 0
    const g = (l: ConvBn<L>) => f(l, i++)
    const stem = g(p.stem)
    const stages = p.stages.map((blocks) => blocks.map((b) => ({ a: g(b.a), b: g(b.b), ...(b.down ? { down: g(b.down) } : {}) })))
    return { stem, stages, head: p.head }
  },

  /** The conv filters `[k,k,in,out]` in network order: the layers LAF stacks across tasks. */
  convWeights: <L>(p: ResNetParams<L>): L[] => {
    const ws: L[] = []
    resnet.mapLayers(p, (l) => {
      ws.push(l.conv.w)
      return l
    })
    return ws
  },
}
