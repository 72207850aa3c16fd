/**
 * 2-D convolution layers (NHWC activations, HWIO filters). `im2colConv2d` is a composite of existing
 * primitives (pad, slice, concat, matmul): differentiable on every backend with no kernels of its own; it
 * is the cross-check for the `conv2d` primitive and a fallback where that kernel is missing.
 */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { add, maximum } from '../ops/elementwise.ts'
import { conv2d } from '../ops/conv.ts'
import { matmul } from '../ops/matmul.ts'
import { concat, pad, reshape, slice } from '../ops/shape.ts'
import type { HostTensor } from '../tensor/host.ts'
import type { Key } from '../tensor/prng.ts'
import { ShapeError } from '../tensor/shape.ts'
import { heNormal, zerosInit } from './init.ts'

export type Padding = 'same' | 'valid'

/** TF padding: 'same' gives out = ceil(in / s) with the odd pixel at the bottom/right. Returns [out, before, after]. */
export const convPads = (size: number, k: number, s: number, padding: Padding): [number, number, number] => {
  if (padding === 'valid') return [Math.floor((size - k) / s) + 1, 0, 0]
  const out = Math.ceil(size / s)
  const total = Math.max((out - 1) * s + k - size, 0)
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)]
}

/**
 * The kh·kw shifted, strided views of x `[N,H,W,C]` that a window op combines: tap (i, j) is
 * `[N,OH,OW,C]`, the input pixel at window offset (i, j) of every output position. Padding is zeros.
 */
export const windowTaps = (xt: Tensor, kh: number, kw: number, s: number, padding: Padding): Tensor[] => {
  const [n, h, wd, c] = xt.shape
  const [oh, pt] = convPads(h, kh, s, padding)
  const [ow, pl] = convPads(wd, kw, s, padding)
  if (oh <= 0 || ow <= 0) throw new ShapeError(`windowTaps: window ${kh}×${kw} larger than input ${h}×${wd} with 'valid' padding`)
  // pad so every tap can take a full OH·s × OW·s window, then subsample by s via reshape + slice
  const needH = kh - 1 + oh * s
  const needW = kw - 1 + ow * s
  const xp = pad(xt, [
    [0, 0],
    [pt, Math.max(0, needH - h - pt)],
    [pl, Math.max(0, needW - wd - pl)],
    [0, 0],
  ])
  const taps: Tensor[] = []
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      let p = slice(xp, [0, i, j, 0], [n, oh * s, ow * s, c])
      if (s > 1) p = reshape(slice(reshape(p, [n, oh, s, ow, s, c]), [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]), [n, oh, ow, c])
      taps.push(p)
    }
  return taps
}

/** conv2d as im2col: x `[N,H,W,Cin]`, w `[KH,KW,Cin,Cout]` → `[N,OH,OW,Cout]`. */
export const im2colConv2d = (x: TensorLike, w: TensorLike, opts: { strides?: number; padding?: Padding } = {}): Tensor => {
  const xt = lift(x)
  const wt = lift(w)
  const s = opts.strides ?? 1
  const padding = opts.padding ?? 'same'
  if (xt.shape.length !== 4 || wt.shape.length !== 4)
    throw new ShapeError(`im2colConv2d: expected x [N,H,W,C] and w [KH,KW,Cin,Cout], got [${xt.shape.join(',')}] × [${wt.shape.join(',')}]`)
  const c = xt.shape[3]
  const [kh, kw, ci, co] = wt.shape
  if (c !== ci)
    throw new ShapeError(`im2colConv2d: input channels ${c} ≠ filter in-channels ${ci}: [${xt.shape.join(',')}] × [${wt.shape.join(',')}]`)
  const taps = windowTaps(xt, kh, kw, s, padding)
  const cols = taps.length === 1 ? taps[0] : concat(taps, 3)
  return matmul(cols, reshape(wt, [kh * kw * c, co]))
}

export interface Conv2dConfig {
  readonly inChannels: number
  readonly outChannels: number
  readonly kernel: number
  readonly strides?: number
  readonly padding?: Padding
  /** Convs followed by batch norm need no bias (default false). */
  readonly bias?: boolean
}
export interface Conv2dParams<L = TensorLike> {
  readonly w: L
  readonly b?: L
}

export const conv2dLayer = {
  /** w `[k,k,in,out]` He-normal (fan-in k·k·in), optional zero bias `[out]`. */
  init: (key: Key, c: Conv2dConfig): Conv2dParams<HostTensor> => {
    for (const [n, v] of [
      ['inChannels', c.inChannels],
      ['outChannels', c.outChannels],
      ['kernel', c.kernel],
    ] as const)
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`conv2dLayer.init: ${n} must be a positive integer, got ${v}`)
    const w = heNormal(key, [c.kernel, c.kernel, c.inChannels, c.outChannels])
    return c.bias ? { w, b: zerosInit([c.outChannels]) } : { w }
  },
  /** x `[N,H,W,in]` → `[N,OH,OW,out]`. */
  apply: (p: Conv2dParams, x: TensorLike, opts: { strides?: number; padding?: Padding } = {}): Tensor => {
    const y = conv2d(x, p.w, { strides: opts.strides ?? 1, padding: opts.padding ?? 'same' })
    return p.b ? add(y, p.b) : y
  },
}

/** Max pooling over k×k windows, x `[N,H,W,C]` → `[N,OH,OW,C]` (composite; zero padding, so use it on ReLU outputs). */
export const maxPoolComposite = (x: TensorLike, k: number, s: number, padding: Padding = 'same'): Tensor =>
  windowTaps(lift(x), k, k, s, padding).reduce((a, b) => maximum(a, b))
