/**
 * Max-pool kernels of the cpu backend (NHWC): one pass per window with channels innermost, the first
 * window element seeding the maximum (no per-element branch on it), same tie and NaN rule as ref: the
 * first maximum of the window in row-major order wins, and a NaN seed stays.
 */
import { poolDims } from '../geometry.ts'
import type { Shape } from '../../tensor/shape.ts'
import type { KernelCall } from '../backend.ts'
import { type Alloc, freshAlloc } from './pool-alloc.ts'

type F = Float32Array

/** Window maxima of x into `y` (when given) and their flat input indices into `arg` (when given). */
const maxWindows = (x: F, call: KernelCall, shape: Shape, y: F | undefined, arg: Int32Array | undefined): void => {
  const { kh, kw, sh, sw, pt, pl, n, h, w, c, oh, ow } = poolDims(call, shape)
  const best = new Float32Array(c)
  const at = new Int32Array(c)
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++) {
      const h0 = Math.max(0, i * sh - pt)
      const h1 = Math.min(h, i * sh - pt + kh)
      for (let j = 0; j < ow; j++) {
        const w0 = Math.max(0, j * sw - pl)
        const w1 = Math.min(w, j * sw - pl + kw)
        const o = ((b * oh + i) * ow + j) * c
        if (h0 >= h1 || w0 >= w1) {
          // a window of padding only: ref's argmax stays at flat index 0, so mirror that
          if (y) y.fill(x[0], o, o + c)
          continue
        }
        const s0 = ((b * h + h0) * w + w0) * c
        for (let ch = 0; ch < c; ch++) {
          best[ch] = x[s0 + ch]
          at[ch] = s0 + ch
        }
        for (let ih = h0; ih < h1; ih++)
          for (let iw = ih === h0 ? w0 + 1 : w0; iw < w1; iw++) {
            const s = ((b * h + ih) * w + iw) * c
            if (arg)
              for (let ch = 0; ch < c; ch++) {
                const v = x[s + ch]
                if (v > best[ch]) {
                  best[ch] = v
                  at[ch] = s + ch
                }
              }
            // values only: a select, no data-dependent branch (same rule: a NaN never replaces, a NaN seed stays)
            else
              for (let ch = 0; ch < c; ch++) {
                const v = x[s + ch]
                const b0 = best[ch]
                // biome-ignore lint/complexity/useMathMinMax: Math.max would let a later NaN win (ref keeps the first maximum)
                best[ch] = v > b0 ? v : b0
              }
          }
        if (y) y.set(best, o)
        if (arg) arg.set(at, o)
      }
    }
}

const outSize = (call: KernelCall): number => call.outShape.reduce((a, b) => a * b, 1)

type PooledKernel = (ins: readonly F[], call: KernelCall, alloc?: Alloc) => F

export const cpuPoolKernels: Record<string, PooledKernel> = {
  // every output element is written (windows of padding only included)
  maxPool: ([x], call, alloc = freshAlloc) => {
    const y = alloc(outSize(call))
    maxWindows(x, call, call.inShapes[0], y, undefined)
    return y
  },
  maxPoolBack: ([x, dy], call, alloc = freshAlloc) => {
    const arg = new Int32Array(dy.length)
    maxWindows(x, call, call.inShapes[0], undefined, arg)
    const dx = alloc(x.length).fill(0)
    for (let i = 0; i < arg.length; i++) dx[arg[i]] += dy[i]
    return dx
  },
}
