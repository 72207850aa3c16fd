/** Data-movement primitives: reshape, transpose, slice, pad, concat, broadcastTo (+ stack, expandDims). */
import { bind, expectShape, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { broadcastShapes, fmt, normAxis, type Shape, ShapeError, shapesEqual, sizeOf } from '../tensor/shape.ts'
import { unbroadcast } from './elementwise.ts'

export const reshapePrim: Primitive = {
  name: 'reshape',
  alias: true, // row-major data is unchanged
  shape: ([s], { shape }) => {
    const t = shape as number[]
    expectShape(sizeOf(s) === sizeOf(t), 'reshape', `cannot reshape ${fmt(s)} (${sizeOf(s)} elements) to ${fmt(t)}`)
    return t
  },
  vjp: (dy, [x]) => [reshape(dy, x.shape)],
}

/** Reshape; one dimension may be −1 (inferred). */
export const reshape = (x: TensorLike, shape: readonly number[]): Tensor => {
  const t = lift(x)
  const neg = shape.filter((d) => d === -1).length
  if (neg > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw new ShapeError(`reshape: invalid target shape ${fmt(shape)}`)
  let target = [...shape]
  if (neg === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1))
    const total = sizeOf(t.shape)
    if (known === 0 || total % known !== 0) throw new ShapeError(`reshape: cannot reshape ${fmt(t.shape)} to ${fmt(shape)}`)
    target = shape.map((d) => (d === -1 ? total / known : d))
  }
  if (shapesEqual(target, t.shape)) return t
  return bind(reshapePrim, [t], { shape: target })
}

export const transposePrim: Primitive = {
  name: 'transpose',
  shape: ([s], { perm }) => {
    const p = perm as number[]
    const ok = p.length === s.length && [...p].sort((a, b) => a - b).every((v, i) => v === i)
    expectShape(ok, 'transpose', `perm ${JSON.stringify(p)} is not a permutation of the axes of`, [s])
    return p.map((i) => s[i])
  },
  vjp: (dy, _x, _y, { perm }) => {
    const p = perm as number[]
    const inv = new Array<number>(p.length)
    p.forEach((v, i) => {
      inv[v] = i
    })
    return [transpose(dy, inv)]
  },
}

/** Permutes axes (default: reverse them). */
export const transpose = (x: TensorLike, perm?: readonly number[]): Tensor => {
  const t = lift(x)
  const p = perm ? perm.map((a) => normAxis('transpose', a, t.shape.length)) : t.shape.map((_, i) => t.shape.length - 1 - i)
  if (p.every((v, i) => v === i)) return t
  return bind(transposePrim, [t], { perm: p })
}

export const slicePrim: Primitive = {
  name: 'slice',
  shape: ([s], { begin, size }) => {
    const b = begin as number[]
    const z = size as number[]
    expectShape(b.length === s.length && z.length === s.length, 'slice', `begin ${fmt(b)} / size ${fmt(z)} do not match rank of`, [s])
    s.forEach((d, i) => {
      expectShape(b[i] >= 0 && z[i] >= 0 && b[i] + z[i] <= d, 'slice', `begin ${fmt(b)} + size ${fmt(z)} out of bounds of`, [s])
    })
    return z
  },
  vjp: (dy, [x], _y, { begin, size }) => {
    const b = begin as number[]
    const z = size as number[]
    return [
      pad(
        dy,
        x.shape.map((d, i) => [b[i], d - b[i] - z[i]] as const),
      ),
    ]
  },
}

/** x[begin : begin+size] per axis; size −1 means to the end. */
export const slice = (x: TensorLike, begin: readonly number[], size: readonly number[]): Tensor => {
  const t = lift(x)
  const z = size.map((v, i) => (v === -1 ? t.shape[i] - begin[i] : v))
  if (z.every((v, i) => v === t.shape[i] && begin[i] === 0)) return t
  return bind(slicePrim, [t], { begin: [...begin], size: z })
}

export const padPrim: Primitive = {
  name: 'pad',
  shape: ([s], { pads }) => {
    const p = pads as [number, number][]
    expectShape(
      p.length === s.length && p.flat().every((v) => Number.isInteger(v) && v >= 0),
      'pad',
      `pads ${JSON.stringify(p)} must be one non-negative [lo, hi] per axis of`,
      [s],
    )
    return s.map((d, i) => d + p[i][0] + p[i][1])
  },
  vjp: (dy, [x], _y, { pads }) => [
    slice(
      dy,
      (pads as [number, number][]).map((p) => p[0]),
      x.shape,
    ),
  ],
}

/** Zero padding: `pads[i] = [before, after]` for each axis. */
export const pad = (x: TensorLike, pads: readonly (readonly [number, number])[]): Tensor => {
  const t = lift(x)
  if (pads.every(([a, b]) => a === 0 && b === 0) && pads.length === t.shape.length) return t
  return bind(padPrim, [t], { pads: pads.map(([a, b]) => [a, b]) })
}

export const concatPrim: Primitive = {
  name: 'concat',
  shape: (shapes, { axis }) => {
    const a = axis as number
    const [s0] = shapes
    expectShape(shapes.length > 0, 'concat', 'needs at least one tensor')
    shapes.forEach((s) => {
      expectShape(s.length === s0.length && s.every((d, i) => i === a || d === s0[i]), 'concat', `shapes differ off axis ${a}`, shapes)
    })
    return s0.map((d, i) => (i === a ? shapes.reduce((acc, s) => acc + s[a], 0) : d))
  },
  vjp: (dy, xs, _y, { axis }) => {
    const a = axis as number
    let off = 0
    return xs.map((x) => {
      const begin = x.shape.map((_, i) => (i === a ? off : 0))
      off += x.shape[a]
      return slice(dy, begin, x.shape)
    })
  },
}

/** Joins tensors along an existing axis. */
export const concat = (xs: readonly TensorLike[], axis = 0): Tensor => {
  const ts = xs.map(lift)
  if (ts.length === 0) throw new ShapeError('concat: needs at least one tensor')
  const a = normAxis('concat', axis, ts[0].shape.length)
  if (ts.length === 1) return ts[0]
  return bind(concatPrim, ts, { axis: a })
}

/** Inserts a size-1 axis. */
export const expandDims = (x: TensorLike, axis: number): Tensor => {
  const t = lift(x)
  const a = normAxis('expandDims', axis, t.shape.length + 1)
  return reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)])
}

/** Joins tensors of one shape along a new axis. */
export const stack = (xs: readonly TensorLike[], axis = 0): Tensor => {
  const ts = xs.map(lift)
  if (ts.length === 0) throw new ShapeError('stack: needs at least one tensor')
  ts.forEach((t) => {
    if (!shapesEqual(t.shape, ts[0].shape)) throw new ShapeError(`stack: shapes differ: ${ts.map((u) => fmt(u.shape)).join(' vs ')}`)
  })
  return concat(
    ts.map((t) => expandDims(t, axis)),
    axis,
  )
}

export const broadcastToPrim: Primitive = {
  name: 'broadcastTo',
  shape: ([s], { shape }) => {
    const t = shape as number[]
    const b = broadcastShapes('broadcastTo', s, t)
    expectShape(shapesEqual(b, t), 'broadcastTo', `cannot broadcast ${fmt(s)} to ${fmt(t)}`)
    return t
  },
  vjp: (dy, [x]) => [unbroadcast(dy, x.shape)],
}

/** Numpy broadcast to a target shape. */
export const broadcastTo = (x: TensorLike, shape: Shape): Tensor => {
  const t = lift(x)
  if (shapesEqual(t.shape, shape)) return t
  return bind(broadcastToPrim, [t], { shape: [...shape] })
}

const stopPrim: Primitive = { name: 'stopGradient', shape: ([s]) => s, vjp: () => [null], alias: true }
/** Identity forward, no gradient flows back. */
export const stopGradient = (x: TensorLike): Tensor => bind(stopPrim, [x])
