/** Plain-JS float32 kernels (cache-friendly loop orders, no SIMD, one thread): the baseline. */
import type { Geometry } from './shapes.ts'

/** C = A·B, n×n, i-k-j order. */
export const jsMatmul = (a: Float32Array, b: Float32Array, n: number): Float32Array => {
  const c = new Float32Array(n * n)
  for (let i = 0; i < n; i++)
    for (let p = 0; p < n; p++) {
      const av = a[i * n + p]
      const bo = p * n
      const co = i * n
      for (let j = 0; j < n; j++) c[co + j] += av * b[bo + j]
    }
  return c
}

/** Calls f(xBase, wBase, yBase) for every in-bounds (output pixel, tap); the channel loops are the caller's. */
const eachTap = (g: Geometry, f: (xb: number, wb: number, yb: number) => void): void => {
  const [N, H, W, C] = g.x
  const [kh, kw, , co] = g.w
  const [, OH, OW] = g.y
  const [sh, sw] = g.strides
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let ky = 0; ky < kh; ky++) {
          const ih = oh * sh - g.pads[0] + ky
          if (ih < 0 || ih >= H) continue
          for (let kx = 0; kx < kw; kx++) {
            const iw = ow * sw - g.pads[2] + kx
            if (iw < 0 || iw >= W) continue
            f(((n * H + ih) * W + iw) * C, (ky * kw + kx) * C * co, ((n * OH + oh) * OW + ow) * co)
          }
        }
}

export const jsConv = (x: Float32Array, w: Float32Array, g: Geometry): Float32Array => {
  const [C, co] = [g.x[3], g.w[3]]
  const y = new Float32Array(g.y.reduce((p, q) => p * q, 1))
  eachTap(g, (xb, wb, yb) => {
    for (let c = 0; c < C; c++) {
      const xv = x[xb + c]
      const wo = wb + c * co
      for (let o = 0; o < co; o++) y[yb + o] += xv * w[wo + o]
    }
  })
  return y
}

export const jsConvDx = (dy: Float32Array, w: Float32Array, g: Geometry): Float32Array => {
  const [C, co] = [g.x[3], g.w[3]]
  const dx = new Float32Array(g.x.reduce((p, q) => p * q, 1))
  eachTap(g, (xb, wb, yb) => {
    for (let c = 0; c < C; c++) {
      const wo = wb + c * co
      let s = 0
      for (let o = 0; o < co; o++) s += dy[yb + o] * w[wo + o]
      dx[xb + c] += s
    }
  })
  return dx
}

export const jsConvDw = (x: Float32Array, dy: Float32Array, g: Geometry): Float32Array => {
  const [C, co] = [g.x[3], g.w[3]]
  const dw = new Float32Array(g.w.reduce((p, q) => p * q, 1))
  eachTap(g, (xb, wb, yb) => {
    for (let c = 0; c < C; c++) {
      const xv = x[xb + c]
      const wo = wb + c * co
      for (let o = 0; o < co; o++) dw[wo + o] += xv * dy[yb + o]
    }
  })
  return dw
}
