import { checkShape, fmt, type Shape, ShapeError, sizeOf } from './shape.ts'

export type Data = Float32Array | Float64Array

/** A tensor with its numbers on the host: row-major data plus shape. float32 normally, float64 on `ref`. */
export interface HostTensor {
  readonly kind: 'host'
  readonly shape: Shape
  readonly data: Data
}

export const isHost = (x: unknown): x is HostTensor => typeof x === 'object' && x !== null && (x as HostTensor).kind === 'host'

const flatten = (x: unknown, out: number[]): void => {
  if (Array.isArray(x)) for (const e of x) flatten(e, out)
  else out.push(x as number)
}
const inferShape = (x: unknown): number[] => (Array.isArray(x) ? [x.length, ...inferShape(x[0])] : [])

/** Makes a float32 host tensor from a typed array / nested arrays / number, with an optional shape. */
export const tensor = (values: ArrayLike<number> | number | readonly unknown[], shape?: Shape): HostTensor =>
  make(values, shape, Float32Array)

/** Same as `tensor`, in float64 (for the `ref` backend and gradient checks). */
export const tensor64 = (values: ArrayLike<number> | number | readonly unknown[], shape?: Shape): HostTensor =>
  make(values, shape, Float64Array)

const make = (
  values: ArrayLike<number> | number | readonly unknown[],
  shape: Shape | undefined,
  Ctor: Float32ArrayConstructor | Float64ArrayConstructor,
): HostTensor => {
  let flat: ArrayLike<number>
  let inferred: Shape
  if (typeof values === 'number') {
    flat = [values]
    inferred = []
  } else if (Array.isArray(values)) {
    const out: number[] = []
    flatten(values, out)
    flat = out
    inferred = inferShape(values)
  } else {
    flat = values as ArrayLike<number>
    inferred = [flat.length]
  }
  const s = checkShape('tensor', shape ?? inferred)
  if (sizeOf(s) !== flat.length) throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`)
  return { kind: 'host', shape: [...s], data: Ctor.from(flat) }
}

/** Wraps existing data without copying. */
export const fromData = (data: Data, shape: Shape): HostTensor => {
  if (sizeOf(shape) !== data.length) throw new ShapeError(`fromData: ${data.length} values do not fill shape ${fmt(shape)}`)
  return { kind: 'host', shape: [...shape], data }
}

export const zeros = (shape: Shape): HostTensor => fromData(new Float32Array(sizeOf(shape)), shape)
export const ones = (shape: Shape): HostTensor => fromData(new Float32Array(sizeOf(shape)).fill(1), shape)
export const full = (shape: Shape, v: number): HostTensor => fromData(new Float32Array(sizeOf(shape)).fill(v), shape)

/** Converts to float64 (a copy). */
export const toFloat64 = (t: HostTensor): HostTensor => fromData(Float64Array.from(t.data), t.shape)
/** Converts to float32 (a copy). */
export const toFloat32 = (t: HostTensor): HostTensor => fromData(Float32Array.from(t.data), t.shape)

/** Nested JS arrays, for printing and tests. */
export const toArray = (t: HostTensor): unknown => {
  const rec = (dim: number, off: number): unknown => {
    if (dim === t.shape.length) return t.data[off]
    const stride = sizeOf(t.shape.slice(dim + 1))
    return Array.from({ length: t.shape[dim] }, (_, i) => rec(dim + 1, off + i * stride))
  }
  return rec(0, 0)
}

/** The single number of a one-element tensor. */
export const item = (t: HostTensor): number => {
  if (t.data.length !== 1) throw new ShapeError(`item: tensor of shape ${fmt(t.shape)} has ${t.data.length} elements`)
  return t.data[0]
}
