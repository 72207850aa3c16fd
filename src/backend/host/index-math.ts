import { type Shape, sizeOf, stridesOf } from '../../tensor/shape.ts'

/** Strides of `inShape` read as broadcast against `outShape` (0 where the input is broadcast). */
export const broadcastStrides = (inShape: Shape, outShape: Shape): number[] => {
  const s = stridesOf(inShape)
  const lead = outShape.length - inShape.length
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]))
}

/**
 * For each output element (row-major), the offset into each input under broadcasting.
 * Offsets are built incrementally (odometer), so this is O(n · inputs).
 */
export const broadcastOffsets = (inShapes: readonly Shape[], outShape: Shape): Int32Array[] => {
  const n = sizeOf(outShape)
  const rank = outShape.length
  const strides = inShapes.map((s) => broadcastStrides(s, outShape))
  const offs = inShapes.map(() => new Int32Array(n))
  const idx = new Array<number>(rank).fill(0)
  const cur = inShapes.map(() => 0)
  for (let e = 0; e < n; e++) {
    for (let j = 0; j < cur.length; j++) offs[j][e] = cur[j]
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++
      for (let j = 0; j < cur.length; j++) cur[j] += strides[j][d]
      if (idx[d] < outShape[d]) break
      for (let j = 0; j < cur.length; j++) cur[j] -= strides[j][d] * outShape[d]
      idx[d] = 0
    }
  }
  return offs
}

/** Calls f(outIndex, inOffset) over a row-major walk of `shape`, reading the input with `strides`. */
export const walk = (shape: Shape, strides: readonly number[], base: number, f: (o: number, i: number) => void): void => {
  const n = sizeOf(shape)
  const rank = shape.length
  const idx = new Array<number>(rank).fill(0)
  let cur = base
  for (let e = 0; e < n; e++) {
    f(e, cur)
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++
      cur += strides[d]
      if (idx[d] < shape[d]) break
      cur -= strides[d] * shape[d]
      idx[d] = 0
    }
  }
}
