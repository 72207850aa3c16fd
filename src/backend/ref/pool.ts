/**
 * Pooling kernels (NHWC), generic over the array type. The loops run channels innermost over
 * contiguous memory, so the cpu backend uses them as they are (in float32).
 */
import { poolDims } from '../geometry.ts'
import type { Shape } from '../../tensor/shape.ts'
import type { HostKernel, KernelCall } from '../backend.ts'
import type { ArrayCtor } from '../host/backend.ts'

type D = Float32Array | Float64Array

/**
 * Calls `f(o, start, cnt)` once per output pixel: `o` is its offset (channel 0) in the pooled output,
 * `start` lists the input offsets (channel 0) of its valid window elements in row-major order, `cnt` how many.
 */
const eachWindow = (call: KernelCall, x: Shape, f: (o: number, start: Int32Array, cnt: number) => void): void => {
  const { kh, kw, sh, sw, pt, pl, n, h, w, c, oh, ow } = poolDims(call, x)
  const idx = new Int32Array(kh * kw)
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let cnt = 0
        for (let p = 0; p < kh; p++) {
          const ih = i * sh - pt + p
          if (ih < 0 || ih >= h) continue
          for (let q = 0; q < kw; q++) {
            const iw = j * sw - pl + q
            if (iw >= 0 && iw < w) idx[cnt++] = ((b * h + ih) * w + iw) * c
          }
        }
        f(((b * oh + i) * ow + j) * c, idx, cnt)
      }
}

/** For each pooled element, the flat input index of the first maximum of its window. */
const argmaxes = (x: D, call: KernelCall, shape: Shape, outSize: number): Int32Array => {
  const c = shape[3]
  const arg = new Int32Array(outSize)
  const best = new Float64Array(c)
  eachWindow(call, shape, (o, idx, cnt) => {
    best.fill(-Infinity)
    for (let k = 0; k < cnt; k++) {
      const s = idx[k]
      // strict '>' keeps the first maximum on ties (the first element seeds the search, even if NaN)
      for (let ch = 0; ch < c; ch++)
        if (x[s + ch] > best[ch] || k === 0) {
          best[ch] = x[s + ch]
          arg[o + ch] = s + ch
        }
    }
  })
  return arg
}

export const refPoolKernels = <A extends D>(Ctor: ArrayCtor<A>): Record<string, HostKernel<A>> => ({
  maxPool: ([x], call) => {
    const arg = argmaxes(
      x,
      call,
      call.inShapes[0],
      call.outShape.reduce((a, b) => a * b, 1),
    )
    const y = new Ctor(arg.length)
    for (let i = 0; i < arg.length; i++) y[i] = x[arg[i]]
    return y
  },
  maxPoolBack: ([x, dy], call) => {
    const arg = argmaxes(x, call, call.inShapes[0], dy.length)
    const dx = new Ctor(x.length)
    for (let i = 0; i < arg.length; i++) dx[arg[i]] += dy[i]
    return dx
  },
  maxPoolSelect: ([x, g], call) => {
    const arg = argmaxes(
      x,
      call,
      call.inShapes[0],
      call.outShape.reduce((a, b) => a * b, 1),
    )
    const y = new Ctor(arg.length)
    for (let i = 0; i < arg.length; i++) y[i] = g[arg[i]]
    return y
  },
  avgPool: ([x], call) => {
    const c = call.inShapes[0][3]
    const y = new Ctor(call.outShape.reduce((a, b) => a * b, 1))
    const acc = new Float64Array(c)
    eachWindow(call, call.inShapes[0], (o, idx, cnt) => {
      acc.fill(0)
      for (let k = 0; k < cnt; k++) for (let ch = 0; ch < c; ch++) acc[ch] += x[idx[k] + ch]
      for (let ch = 0; ch < c; ch++) y[o + ch] = acc[ch] / cnt
    })
    return y
  },
  avgPoolBack: ([dy], call) => {
    const c = call.outShape[3]
    const dx = new Ctor(call.outShape.reduce((a, b) => a * b, 1))
    eachWindow(call, call.outShape, (o, idx, cnt) => {
      for (let k = 0; k < cnt; k++) for (let ch = 0; ch < c; ch++) dx[idx[k] + ch] += dy[o + ch] / cnt
    })
    return dx
  },
})
