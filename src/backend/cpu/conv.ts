/**
 * Fast float32 conv kernels: im2col in row chunks (bounded memory) feeding the register-tiled GEMM.
 * Rows of the im2col matrix are output pixels, columns are filter taps (kh, kw, cin), which matches
 * the HWIO filter flattened to `[KH·KW·Cin, Cout]` and the NHWC output `[N·OH·OW, Cout]` with no copies.
 */
import type { HostKernel } from '../backend.ts'
import { type ConvGeom, convGeom } from '../ref/conv.ts'
import { gemm, packB } from './gemm.ts'

type F = Float32Array

/** Target size (floats) of one im2col chunk: about 1 MB, so a chunk stays in L2. */
const CHUNK = 1 << 18

/** A 1×1, stride-1, unpadded conv (the output covers exactly the input) is a plain GEMM on x: no im2col needed. */
const isPointwise = (g: ConvGeom): boolean =>
  g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.oh === g.h && g.ow === g.w

/** Rows per chunk (a multiple of 4 so GEMM tiles never straddle chunks). */
const chunkRows = (k: number, cap = CHUNK): number => Math.max(4, Math.floor(cap / Math.max(1, k) / 4) * 4)

/** Fills `col[(m − m0)·K + tap·Cin + c]` for output pixels m0 ≤ m < m0 + rows (zeros where padded). */
const im2col = (g: ConvGeom, x: F, m0: number, rows: number, col: F): void => {
  const { h, w, cin, kh, kw, oh, ow, sh, sw, pt, pl } = g
  const K = kh * kw * cin
  for (let r = 0; r < rows; r++) {
    const m = m0 + r
    const j = m % ow
    const i = ((m - j) / ow) % oh
    const b = (m - j - i * ow) / (ow * oh)
    let o = r * K
    for (let p = 0; p < kh; p++) {
      const ih = i * sh - pt + p
      for (let q = 0; q < kw; q++, o += cin) {
        const iw = j * sw - pl + q
        if (ih < 0 || ih >= h || iw < 0 || iw >= w) col.fill(0, o, o + cin)
        else col.set(x.subarray(((b * h + ih) * w + iw) * cin, ((b * h + ih) * w + iw + 1) * cin), o)
      }
    }
  }
}

/** Scatter-adds `col` rows (as laid out by im2col) back into the image `dx`. */
const col2im = (g: ConvGeom, col: F, m0: number, rows: number, dx: F): void => {
  const { h, w, cin, kh, kw, oh, ow, sh, sw, pt, pl } = g
  const K = kh * kw * cin
  for (let r = 0; r < rows; r++) {
    const m = m0 + r
    const j = m % ow
    const i = ((m - j) / ow) % oh
    const b = (m - j - i * ow) / (ow * oh)
    let o = r * K
    for (let p = 0; p < kh; p++) {
      const ih = i * sh - pt + p
      for (let q = 0; q < kw; q++, o += cin) {
        const iw = j * sw - pl + q
        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue
        const d = ((b * h + ih) * w + iw) * cin
        for (let c = 0; c < cin; c++) dx[d + c] += col[o + c]
      }
    }
  }
}

/** y `[M, Cout]` = im2col(x) `[M, K]` · w `[K, Cout]`. */
const conv2d: HostKernel<F> = ([x, w], call) => {
  const g = convGeom(call, call.inShapes[0], call.inShapes[1], call.outShape)
  const K = g.kh * g.kw * g.cin
  const M = g.n * g.oh * g.ow
  const y = new Float32Array(M * g.cout)
  const P = packB(w, 0, K, g.cout, g.cout, 1)
  if (isPointwise(g)) {
    gemm(M, g.cout, K, x, 0, K, 1, P, y, 0, g.cout, false)
    return y
  }
  const mc = chunkRows(K)
  const col = new Float32Array(mc * K)
  for (let m0 = 0; m0 < M; m0 += mc) {
    const rows = Math.min(mc, M - m0)
    im2col(g, x, m0, rows, col)
    gemm(rows, g.cout, K, col, 0, K, 1, P, y, m0 * g.cout, g.cout, false)
  }
  return y
}

/** dcol `[M, K]` = dy `[M, Cout]` · wᵀ `[Cout, K]`, then col2im. */
const conv2dBackInput: HostKernel<F> = ([dy, w], call) => {
  const g = convGeom(call, call.outShape, call.inShapes[1], call.inShapes[0])
  const K = g.kh * g.kw * g.cin
  const M = g.n * g.oh * g.ow
  const dx = new Float32Array(g.n * g.h * g.w * g.cin)
  // B(k = o, j = tap·Cin + c) = w[j·Cout + o]
  const P = packB(w, 0, g.cout, K, 1, g.cout)
  if (isPointwise(g)) {
    gemm(M, K, g.cout, dy, 0, g.cout, 1, P, dx, 0, K, false)
    return dx
  }
  const mc = chunkRows(K)
  const col = new Float32Array(mc * K)
  for (let m0 = 0; m0 < M; m0 += mc) {
    const rows = Math.min(mc, M - m0)
    gemm(rows, K, g.cout, dy, m0 * g.cout, g.cout, 1, P, col, 0, K, false)
    col2im(g, col, m0, rows, dx)
  }
  return dx
}

/** dw `[K, Cout]` = Σ over chunks of im2col(x)ᵀ `[K, rows]` · dy `[rows, Cout]`, accumulated in float64. */
const conv2dBackFilter: HostKernel<F> = ([x, dy], call) => {
  const g = convGeom(call, call.inShapes[0], call.outShape, call.inShapes[1])
  const K = g.kh * g.kw * g.cin
  const M = g.n * g.oh * g.ow
  const acc = new Float64Array(K * g.cout)
  const pointwise = isPointwise(g)
  // 256 rows whatever K: the transposed A walk touches one cache line per row (16 KB), which stays in L1
  const mc = 256
  const col = pointwise ? x : new Float32Array(mc * K)
  let P: F | undefined
  for (let m0 = 0; m0 < M; m0 += mc) {
    const rows = Math.min(mc, M - m0)
    if (!pointwise) im2col(g, x, m0, rows, col)
    P = packB(dy, m0 * g.cout, rows, g.cout, g.cout, 1, P)
    gemm(K, g.cout, rows, col, pointwise ? m0 * K : 0, 1, K, P, acc, 0, g.cout, true)
  }
  return Float32Array.from(acc)
}

/** The cpu conv kernels, spread into the cpu kernel table (a WASM table may override them by name). */
export const cpuConvKernels: Record<string, HostKernel<F>> = { conv2d, conv2dBackInput, conv2dBackFilter }
