/**
 * Fast paths for the data-movement kernels the trace norms lean on (stacking task weights on a new last
 * axis and its VJP): concat and single-axis slices become strided run copies instead of an index walk
 * per element. Anything else falls back to the generic kernel.
 */
import { sizeOf } from '../../tensor/shape.ts'
import type { HostKernel } from '../backend.ts'

type F = Float32Array

/** Copies `outer` runs of length `run` from src (stride srcStride, offset srcOff) to dst (stride dstStride, offset dstOff). */
const copyRuns = (
  dst: F,
  dstOff: number,
  dstStride: number,
  src: F,
  srcOff: number,
  srcStride: number,
  outer: number,
  run: number,
): void => {
  if (run === 1) for (let o = 0; o < outer; o++) dst[dstOff + o * dstStride] = src[srcOff + o * srcStride]
  else if (run < 16)
    for (let o = 0; o < outer; o++) {
      const d = dstOff + o * dstStride
      const s = srcOff + o * srcStride
      for (let j = 0; j < run; j++) dst[d + j] = src[s + j]
    }
  else for (let o = 0; o < outer; o++) dst.set(src.subarray(srcOff + o * srcStride, srcOff + o * srcStride + run), dstOff + o * dstStride)
}

export const concatFast: HostKernel<F> = (xs, call) => {
  const axis = call.attrs.axis as number
  const os = call.outShape
  const outer = sizeOf(os.slice(0, axis))
  const inner = sizeOf(os.slice(axis + 1))
  const out = new Float32Array(sizeOf(os))
  const row = os[axis] * inner
  let off = 0
  xs.forEach((x, k) => {
    const run = call.inShapes[k][axis] * inner
    copyRuns(out, off, row, x, 0, run, outer, run)
    off += run
  })
  return out
}

/** Slice kernel: one strided run copy when at most one axis is cut, else `fallback`. */
export const sliceFast =
  (fallback: HostKernel<F>): HostKernel<F> =>
  (ins, call) => {
    const s = call.inShapes[0]
    const begin = call.attrs.begin as number[]
    const size = call.attrs.size as number[]
    const cut = s.map((_, i) => i).filter((i) => size[i] !== s[i])
    if (cut.length > 1) return fallback(ins, call)
    const a = cut.length ? cut[0] : 0
    const outer = sizeOf(s.slice(0, a))
    const inner = sizeOf(s.slice(a + 1))
    const out = new Float32Array(sizeOf(call.outShape))
    const run = size[a] * inner
    copyRuns(out, 0, run, ins[0], begin[a] * inner, s[a] * inner, outer, run)
    return out
  }
