/**
 * 2-D max and average pooling over NHWC. Padded positions never take part: max pooling ignores them
 * (as if −∞) and average pooling divides by the number of valid elements in each window (TF/Keras).
 * The backward passes are primitives too, closed under differentiation so grad-of-grad works.
 */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { fmt, type Shape, ShapeError, shapesEqual } from '../tensor/shape.ts'
import { mean } from './reduce.ts'
import { normStrides, outSize, type Padding, resolvePads } from './conv.ts'

// a type alias (not an interface) so it is assignable to the Attrs record
/** Attributes of the pooling primitives: window `[kh, kw]`, `[sh, sw]`, pads `[top, bottom, left, right]`. */
export type PoolAttrs = {
  readonly size: readonly [number, number]
  readonly strides: readonly [number, number]
  readonly pads: readonly [number, number, number, number]
}

/** Output shape of pooling x `[N,H,W,C]`; every window must hold at least one unpadded element. */
const pooledShape = (op: string, x: Shape, attrs: Record<string, unknown>): Shape => {
  const { size, strides, pads } = attrs as unknown as PoolAttrs
  const ints = (v: unknown, n: number, min: number) => Array.isArray(v) && v.length === n && v.every((d) => Number.isInteger(d) && d >= min)
  expectShape(ints(size, 2, 1) && ints(strides, 2, 1) && ints(pads, 4, 0), op, `bad attrs ${JSON.stringify({ size, strides, pads })}`)
  expectShape(x.length === 4, op, `input must be rank 4 [N,H,W,C], got rank ${x.length}`, [x])
  const [kh, kw] = size
  const [t, b, l, r] = pads
  // a pad ≥ the window would give windows made only of padding (no max, average 0/0)
  expectShape(t < kh && b < kh && l < kw && r < kw, op, `pads ${fmt(pads)} must be smaller than the window ${kh}x${kw}`, [x])
  const oh = outSize(x[1], kh, strides[0], t, b)
  const ow = outSize(x[2], kw, strides[1], l, r)
  expectShape(oh >= 1 && ow >= 1, op, `window ${kh}x${kw} larger than padded input ${x[1] + t + b}x${x[2] + l + r}`, [x])
  return [x[0], oh, ow, x[3]]
}

const poolAttrs = (attrs: Record<string, unknown>): PoolAttrs => {
  const { size, strides, pads } = attrs as unknown as PoolAttrs
  return { size, strides, pads }
}

/** maxPool: input x `[N,H,W,C]`, attrs `{ size, strides, pads }` → `[N,OH,OW,C]`. */
export const maxPoolPrim: Primitive = {
  name: 'maxPool',
  shape: ([x], attrs) => pooledShape('maxPool', x, attrs),
  vjp: (dy, [x], _y, attrs) => [bind(maxPoolBackPrim, [x, dy], poolAttrs(attrs))],
}

/** dx of maxPool: inputs (x `[N,H,W,C]`, dy pooled) → x's shape; dy goes to each window's first argmax. */
export const maxPoolBackPrim: Primitive = {
  name: 'maxPoolBack',
  shape: ([x, dy], attrs) => {
    const want = pooledShape('maxPoolBack', x, attrs)
    expectShape(shapesEqual(dy, want), 'maxPoolBack', `dy must have the pooled shape ${fmt(want)}`, [x, dy])
    return x
  },
  // piecewise constant in x (the argmax moves only at ties), linear in dy
  vjp: (g, [x], _y, attrs) => [null, bind(maxPoolSelectPrim, [x, g], poolAttrs(attrs))],
}

/** The transpose of maxPoolBack in dy: inputs (x, g `[N,H,W,C]`) → g at each window's argmax, pooled shape. */
export const maxPoolSelectPrim: Primitive = {
  name: 'maxPoolSelect',
  shape: ([x, g], attrs) => {
    expectShape(shapesEqual(x, g), 'maxPoolSelect', 'x and g must have one shape', [x, g])
    return pooledShape('maxPoolSelect', x, attrs)
  },
  vjp: (c, [x], _y, attrs) => [null, bind(maxPoolBackPrim, [x, c], poolAttrs(attrs))],
}

/** avgPool: input x `[N,H,W,C]`, attrs `{ size, strides, pads }` → `[N,OH,OW,C]` (mean over valid elements). */
export const avgPoolPrim: Primitive = {
  name: 'avgPool',
  shape: ([x], attrs) => pooledShape('avgPool', x, attrs),
  vjp: (dy, [x], _y, attrs) => [bind(avgPoolBackPrim, [dy], { ...poolAttrs(attrs), inShape: [...x.shape] })],
}

/** dx of avgPool: input dy (pooled), attrs + `inShape` → `inShape`; each dy spreads evenly over its valid window. */
export const avgPoolBackPrim: Primitive = {
  name: 'avgPoolBack',
  shape: ([dy], attrs) => {
    const inShape = attrs.inShape as number[]
    expectShape(Array.isArray(inShape) && inShape.length === 4, 'avgPoolBack', `inShape must be [N,H,W,C], got ${JSON.stringify(inShape)}`)
    const want = pooledShape('avgPoolBack', inShape, attrs)
    expectShape(shapesEqual(dy, want), 'avgPoolBack', `dy must have the pooled shape ${fmt(want)} of inShape ${fmt(inShape)}`, [dy])
    return [...inShape]
  },
  // linear, and its transpose is exactly avgPool with the same window (same 1/count weights)
  vjp: (g, _ins, _y, attrs) => [bind(avgPoolPrim, [g], poolAttrs(attrs))],
}

export interface PoolOptions {
  readonly size: number | readonly [number, number]
  /** Default: the window size (non-overlapping windows). */
  readonly strides?: number | readonly [number, number]
  /** Default 'valid'. */
  readonly padding?: Padding
}

const resolvePool = (op: string, x: Tensor, opts: PoolOptions): PoolAttrs => {
  if (x.shape.length !== 4) throw new ShapeError(`${op}: input must be rank 4 [N,H,W,C]: ${fmt(x.shape)}`)
  const size = normStrides(op, opts.size, 'size')
  const strides = opts.strides === undefined ? size : normStrides(op, opts.strides)
  return { size, strides, pads: resolvePads(op, opts.padding, [x.shape[1], x.shape[2]], size, strides) }
}

/** Max pooling x `[N,H,W,C]` → `[N,OH,OW,C]`; padding is ignored; ties send the gradient to the first max (row-major). */
export const maxPool = (x: TensorLike, opts: PoolOptions): Tensor => {
  const t = lift(x)
  return bind(maxPoolPrim, [t], resolvePool('maxPool', t, opts))
}

/**
 * Average pooling x `[N,H,W,C]` → `[N,OH,OW,C]`. Each window is divided by its number of *valid* (unpadded)
 * elements, as in TF/Keras, so 'same' borders are not darkened by the zero padding.
 */
export const avgPool = (x: TensorLike, opts: PoolOptions): Tensor => {
  const t = lift(x)
  return bind(avgPoolPrim, [t], resolvePool('avgPool', t, opts))
}

/** Backward of maxPool: x `[N,H,W,C]`, dy `[N,OH,OW,C]` → dx `[N,H,W,C]`. */
export const maxPoolBack = (x: TensorLike, dy: TensorLike, attrs: PoolAttrs): Tensor =>
  bind(maxPoolBackPrim, [x, dy], poolAttrs({ ...attrs }))

/** g `[N,H,W,C]` read at the argmax of each window of x `[N,H,W,C]` → `[N,OH,OW,C]`. */
export const maxPoolSelect = (x: TensorLike, g: TensorLike, attrs: PoolAttrs): Tensor =>
  bind(maxPoolSelectPrim, [x, g], poolAttrs({ ...attrs }))

/** Backward of avgPool: dy `[N,OH,OW,C]` → dx `inShape`. */
export const avgPoolBack = (dy: TensorLike, attrs: PoolAttrs & { readonly inShape: Shape }): Tensor =>
  bind(avgPoolBackPrim, [dy], { ...poolAttrs({ ...attrs }), inShape: [...attrs.inShape] })

/** Mean over H and W: x `[N,H,W,C]` → `[N,C]`. */
export const globalAvgPool = (x: TensorLike): Tensor => {
  const t = lift(x)
  if (t.shape.length !== 4) throw new ShapeError(`globalAvgPool: input must be rank 4 [N,H,W,C]: ${fmt(t.shape)}`)
  return mean(t, [1, 2])
}
