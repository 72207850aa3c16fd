/** Plain-JS float64 references for the WASM kernels (loops straight from the definitions). */
export type Shape = readonly number[]

/** op(a)·op(b) batched, float64 accumulation. */
export const matmulRef = (
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
): Float32Array => {
  const out = new Float32Array(batch * m * n)
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) s += a[t * m * k + (tA ? p * m + i : i * k + p)] * b[t * k * n + (tB ? j * k + p : p * n + j)]
        out[t * m * n + i * n + j] = s
      }
  return out
}

interface Geom {
  readonly x: Shape
  readonly w: Shape
  readonly y: Shape
  readonly strides: readonly number[]
  readonly pads: readonly number[]
}

/** Visits every (x index, w index, y index) triple of a conv2d. */
const taps = ({ x, w, y, strides: [sh, sw], pads: [pt, , pl] }: Geom, f: (xi: number, wi: number, yi: number) => void): void => {
  const [N, H, W, C] = x
  const [kh, kw, , co] = w
  const [, OH, OW] = y
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const ih = oh * sh - pt + ky
            const iw = ow * sw - pl + kx
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue
            for (let c = 0; c < C; c++)
              for (let o = 0; o < co; o++)
                f(((n * H + ih) * W + iw) * C + c, ((ky * kw + kx) * C + c) * co + o, ((n * OH + oh) * OW + ow) * co + o)
          }
}

const size = (s: Shape) => s.reduce((a, b) => a * b, 1)
export const convRef = (x: Float32Array, w: Float32Array, g: Geom): Float32Array => {
  const y = new Float64Array(size(g.y))
  taps(g, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi]
  })
  return Float32Array.from(y)
}
export const convDxRef = (dy: Float32Array, w: Float32Array, g: Geom): Float32Array => {
  const dx = new Float64Array(size(g.x))
  taps(g, (xi, wi, yi) => {
    dx[xi] += dy[yi] * w[wi]
  })
  return Float32Array.from(dx)
}
export const convDwRef = (x: Float32Array, dy: Float32Array, g: Geom): Float32Array => {
  const dw = new Float64Array(size(g.w))
  taps(g, (xi, wi, yi) => {
    dw[wi] += x[xi] * dy[yi]
  })
  return Float32Array.from(dw)
}
