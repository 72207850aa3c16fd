/**
 * 2-D convolution (NHWC activations, HWIO filters, dilation 1) and its two transposes. The three
 * primitives close over each other under differentiation, so grad-of-grad stays within them.
 */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { fmt, type Shape, ShapeError, shapesEqual } from '../tensor/shape.ts'

/** Padding as accepted by conv and pooling: TF 'same'/'valid' or explicit `[[top, bottom], [left, right]]`. */
export type Padding = 'same' | 'valid' | readonly [readonly [number, number], readonly [number, number]]

/** Attributes of the conv primitives: `strides = [sh, sw]`, `pads = [top, bottom, left, right]`. */
export interface ConvAttrs {
  readonly strides: readonly [number, number]
  readonly pads: readonly [number, number, number, number]
}

/** Normalises `strides` (a number or a pair of positive integers); `op` and `arg` name the caller and argument in errors. */
export const normStrides = (op: string, s: number | readonly [number, number] | undefined, arg = 'strides'): [number, number] => {
  const p = s === undefined ? [1, 1] : typeof s === 'number' ? [s, s] : Array.isArray(s) && s.length === 2 ? [s[0], s[1]] : undefined
  if (!p?.every((v) => Number.isInteger(v) && v >= 1))
    throw new ShapeError(`${op}: ${arg} must be a positive integer or a pair of them, got ${JSON.stringify(s)}`)
  return [p[0], p[1]]
}

/**
 * Explicit pads `[top, bottom, left, right]` for a window of `[kh, kw]` over `[h, w]`. 'same' follows TF:
 * output = ceil(in / stride) and the odd extra pad goes to the bottom/right.
 */
export const resolvePads = (
  op: string,
  padding: Padding | undefined,
  [h, w]: readonly [number, number],
  [kh, kw]: readonly [number, number],
  [sh, sw]: readonly [number, number],
): [number, number, number, number] => {
  const p = padding ?? 'valid'
  if (p === 'valid') return [0, 0, 0, 0]
  if (p === 'same') {
    const th = Math.max((Math.ceil(h / sh) - 1) * sh + kh - h, 0)
    const tw = Math.max((Math.ceil(w / sw) - 1) * sw + kw - w, 0)
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)]
  }
  const flat = Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2) ? p.flat() : []
  if (flat.length !== 4 || !flat.every((v) => Number.isInteger(v) && v >= 0))
    throw new ShapeError(
      `${op}: padding must be 'same', 'valid' or [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(padding)}`,
    )
  return flat as [number, number, number, number]
}

/** Output spatial size of a window `k` with stride `s` over `n` padded by `lo + hi` (0 or less: empty). */
export const outSize = (n: number, k: number, s: number, lo: number, hi: number): number => Math.floor((n + lo + hi - k) / s) + 1

const checkAttrs = (op: string, attrs: Record<string, unknown>): ConvAttrs => {
  const { strides, pads } = attrs as unknown as ConvAttrs
  expectShape(
    Array.isArray(strides) && strides.length === 2 && strides.every((v) => Number.isInteger(v) && v >= 1),
    op,
    `bad strides ${JSON.stringify(strides)}`,
  )
  expectShape(
    Array.isArray(pads) && pads.length === 4 && pads.every((v) => Number.isInteger(v) && v >= 0),
    op,
    `bad pads ${JSON.stringify(pads)}`,
  )
  return { strides, pads }
}

/** Output shape of conv2d for x `[N,H,W,Cin]` and w `[KH,KW,Cin,Cout]`; errors name `op`. */
const convOutShape = (op: string, x: Shape, w: Shape, { strides: [sh, sw], pads: [t, b, l, r] }: ConvAttrs): Shape => {
  expectShape(x.length === 4, op, `input must be rank 4 [N,H,W,Cin], got rank ${x.length}`, [x, w])
  expectShape(w.length === 4, op, `filter must be rank 4 [KH,KW,Cin,Cout], got rank ${w.length}`, [x, w])
  expectShape(x[3] === w[2], op, `input channels ${x[3]} ≠ filter in-channels ${w[2]}`, [x, w])
  const oh = outSize(x[1], w[0], sh, t, b)
  const ow = outSize(x[2], w[1], sw, l, r)
  expectShape(oh >= 1 && ow >= 1, op, `filter ${w[0]}x${w[1]} larger than padded input ${x[1] + t + b}x${x[2] + l + r}`, [x, w])
  return [x[0], oh, ow, w[3]]
}

/** conv2d: inputs (x `[N,H,W,Cin]`, w `[KH,KW,Cin,Cout]`), attrs `{ strides, pads }` → `[N,OH,OW,Cout]`. */
export const conv2dPrim: Primitive = {
  name: 'conv2d',
  shape: ([x, w], attrs) => convOutShape('conv2d', x, w, checkAttrs('conv2d', attrs)),
  vjp: (dy, [x, w], _y, attrs) => [
    bind(conv2dBackInputPrim, [dy, w], { ...attrs, inShape: [...x.shape] }),
    bind(conv2dBackFilterPrim, [x, dy], { ...attrs, filterShape: [...w.shape] }),
  ],
}

/** dx of conv2d: inputs (dy `[N,OH,OW,Cout]`, w), attrs + `inShape` → `[N,H,W,Cin]`. */
export const conv2dBackInputPrim: Primitive = {
  name: 'conv2dBackInput',
  shape: ([dy, w], attrs) => {
    const a = checkAttrs('conv2dBackInput', attrs)
    const inShape = attrs.inShape as number[]
    expectShape(
      Array.isArray(inShape) && inShape.length === 4,
      'conv2dBackInput',
      `inShape must be [N,H,W,Cin], got ${JSON.stringify(inShape)}`,
    )
    const want = convOutShape('conv2dBackInput', inShape, w, a)
    expectShape(shapesEqual(dy, want), 'conv2dBackInput', `dy must have the conv output shape ${fmt(want)}`, [dy, w])
    return [...inShape]
  },
  vjp: (g, [dy, w], _y, attrs) => {
    const { strides, pads } = attrs as unknown as ConvAttrs
    return [bind(conv2dPrim, [g, w], { strides, pads }), bind(conv2dBackFilterPrim, [g, dy], { strides, pads, filterShape: [...w.shape] })]
  },
}

/** dw of conv2d: inputs (x `[N,H,W,Cin]`, dy `[N,OH,OW,Cout]`), attrs + `filterShape` → `[KH,KW,Cin,Cout]`. */
export const conv2dBackFilterPrim: Primitive = {
  name: 'conv2dBackFilter',
  shape: ([x, dy], attrs) => {
    const a = checkAttrs('conv2dBackFilter', attrs)
    const fs = attrs.filterShape as number[]
    expectShape(Array.isArray(fs) && fs.length === 4, 'conv2dBackFilter', `filterShape must be [KH,KW,Cin,Cout], got ${JSON.stringify(fs)}`)
    const want = convOutShape('conv2dBackFilter', x, fs, a)
    expectShape(shapesEqual(dy, want), 'conv2dBackFilter', `dy must have the conv output shape ${fmt(want)}`, [x, dy])
    return [...fs]
  },
  vjp: (g, [x, dy], _y, attrs) => {
    const { strides, pads } = attrs as unknown as ConvAttrs
    return [bind(conv2dBackInputPrim, [dy, g], { strides, pads, inShape: [...x.shape] }), bind(conv2dPrim, [x, g], { strides, pads })]
  },
}

export interface Conv2dOptions {
  readonly strides?: number | readonly [number, number]
  readonly padding?: Padding
}

/** 2-D cross-correlation: x `[N,H,W,Cin]` ⋆ w `[KH,KW,Cin,Cout]` → `[N,OH,OW,Cout]` (padding default 'valid'). */
export const conv2d = (x: TensorLike, w: TensorLike, opts: Conv2dOptions = {}): Tensor => {
  const xt = lift(x)
  const wt = lift(w)
  const strides = normStrides('conv2d', opts.strides)
  if (xt.shape.length !== 4 || wt.shape.length !== 4)
    throw new ShapeError(`conv2d: input [N,H,W,Cin] and filter [KH,KW,Cin,Cout] must be rank 4: ${fmt(xt.shape)} × ${fmt(wt.shape)}`)
  const pads = resolvePads('conv2d', opts.padding, [xt.shape[1], xt.shape[2]], [wt.shape[0], wt.shape[1]], strides)
  return bind(conv2dPrim, [xt, wt], { strides, pads })
}

/** Transpose of conv2d in x: dy `[N,OH,OW,Cout]`, w `[KH,KW,Cin,Cout]` → dx `inShape`. */
export const conv2dBackInput = (dy: TensorLike, w: TensorLike, attrs: ConvAttrs & { readonly inShape: Shape }): Tensor =>
  bind(conv2dBackInputPrim, [dy, w], { strides: [...attrs.strides], pads: [...attrs.pads], inShape: [...attrs.inShape] })

/** Transpose of conv2d in w: x `[N,H,W,Cin]`, dy `[N,OH,OW,Cout]` → dw `filterShape`. */
export const conv2dBackFilter = (x: TensorLike, dy: TensorLike, attrs: ConvAttrs & { readonly filterShape: Shape }): Tensor =>
  bind(conv2dBackFilterPrim, [x, dy], { strides: [...attrs.strides], pads: [...attrs.pads], filterShape: [...attrs.filterShape] })
