/** Shapes: readonly integer arrays, row-major (C order) layout everywhere. */
export type Shape = readonly number[]

/** Thrown at trace time when an op gets incompatible shapes or attributes; the message names the op. */
export class ShapeError extends Error {
  override name = 'ShapeError'
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export const sizeOf = (shape: Shape): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides of a shape. */
export const stridesOf = (shape: Shape): number[] => {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]
  }
  return s
}

/** `[2,3]` for error messages. */
export const fmt = (shape: Shape): string => `[${shape.join(',')}]`

export const shapesEqual = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** Validates that a shape is a list of non-negative integers; `op` names the caller in errors. */
export const checkShape = (op: string, shape: Shape): Shape => {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new ShapeError(`${op}: invalid shape ${JSON.stringify(shape)} (expected non-negative integers)`)
  return shape
}

/** Numpy broadcasting of two shapes; throws naming `op` and both shapes. */
export const broadcastShapes = (op: string, a: Shape, b: Shape): Shape => {
  const n = Math.max(a.length, b.length)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1
    const db = b[b.length - n + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) throw new ShapeError(`${op}: shapes cannot be broadcast: ${fmt(a)} and ${fmt(b)}`)
    out[i] = da === 1 ? db : da
  }
  return out
}

/** Normalises a possibly negative axis against `rank`; throws naming `op`. */
export const normAxis = (op: string, axis: number, rank: number): number => {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`)
  return axis < 0 ? axis + rank : axis
}

/** Normalises a list of axes (undefined = all), sorted and deduplicated. */
export const normAxes = (op: string, axes: number | readonly number[] | undefined, rank: number): number[] => {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i)
  const list = typeof axes === 'number' ? [axes] : axes
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y)
  return out
}
