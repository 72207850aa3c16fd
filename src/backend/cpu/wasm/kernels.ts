/**
 * GEMM-class kernels of the cpu backend on the WASM SIMD runtime: batched matmul with transposes, and
 * conv2d forward / input gradient / filter gradient as im2col (or col2im) + one packed GEMM.
 * Large kernels are split over threads by output rows (or columns when the output is wide and short);
 * every output element is computed by the same instruction sequence whatever the split.
 */
import { sizeOf } from '../../../tensor/shape.ts'
import type { HostKernel } from '../../backend.ts'
import { type Job, OP, type WasmRuntime, wasmRuntime } from './runtime.ts'

type F = Float32Array
type Shape = readonly number[]
/** Below this many flops a kernel stays on the calling thread (dispatch costs ~10-50 µs). */
const PAR_FLOPS = 1 << 22
/** Jobs per thread for split kernels: spare jobs go to whichever thread is free (busy cores, uneven chunks). */
const OVERSPLIT = 3
const MR = 4

/** [start, end) ranges covering n: about `parts` of them, multiples of `align`, at least `min` long. */
const split = (n: number, parts: number, align: number, min = align): [number, number][] => {
  const step = Math.max(Math.ceil(min / align) * align, Math.ceil(n / parts / align) * align)
  const out: [number, number][] = []
  for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)])
  return out
}

/** Jobs for C[m×n] = A·B (strided operands, pointers in bytes) over `t` threads. */
const gemmJobs = (
  t: number,
  m: number,
  n: number,
  k: number,
  a: number,
  rsA: number,
  csA: number,
  b: number,
  rsB: number,
  csB: number,
  c: number,
  ldc: number,
): Job[] => {
  if (t <= 1 || 2 * m * n * k < PAR_FLOPS) return [[OP.gemm, m, n, k, a, rsA, csA, b, rsB, csB, c, ldc]]
  if (m >= n || n < 16)
    return split(m, t * OVERSPLIT, MR, 32).map(([i0, i1]) => [
      OP.gemm,
      i1 - i0,
      n,
      k,
      a + 4 * i0 * rsA,
      rsA,
      csA,
      b,
      rsB,
      csB,
      c + 4 * i0 * ldc,
      ldc,
    ])
  return split(n, t * OVERSPLIT, 8, 32).map(([j0, j1]) => [
    OP.gemm,
    m,
    j1 - j0,
    k,
    a,
    rsA,
    csA,
    b + 4 * j0 * csB,
    rsB,
    csB,
    c + 4 * j0,
    ldc,
  ])
}

/** x's address in wasm memory: in place when it is a resident block, else a copy in the call-local heap. */
export const upload = (rt: WasmRuntime, x: F): number => {
  const r = rt.resident(x)
  if (r !== undefined) return r
  const p = rt.alloc(x.length * 4)
  rt.f32(p, x.length).set(x)
  return p
}

/**
 * Runs `body` with a fresh call-local heap; it writes the `n` result floats at `dst`, a resident block that
 * is returned as is (the caller's backend frees it), or, when memory for one is exhausted, a heap copy.
 */
export const withHeap = (rt: WasmRuntime, n: number, body: (dst: number) => void): F => {
  rt.reset()
  try {
    const out = rt.block(n)
    if (out) {
      body(rt.resident(out)!)
      return out
    }
    const p = rt.alloc(n * 4)
    body(p)
    return rt.f32(p, n).slice()
  } finally {
    rt.reset()
  }
}

/** Batched matmul: a `[...B, m, k]` (or `[...B, k, m]` with transA) × b `[...B, k, n]` (or `[...B, n, k]`) → `[...B, m, n]`. */
export const matmulWasm = (
  a: F,
  b: F,
  sa: Shape,
  transA: boolean,
  transB: boolean,
  outShape: Shape,
  rt: WasmRuntime = wasmRuntime(),
): F => {
  const r = outShape.length
  const m = outShape[r - 2]
  const n = outShape[r - 1]
  const k = transA ? sa[r - 2] : sa[r - 1]
  const batch = sizeOf(outShape.slice(0, -2))
  return withHeap(rt, batch * m * n, (pc) => {
    const pa = upload(rt, a)
    const pb = upload(rt, b)
    const [rsA, csA] = transA ? [1, m] : [k, 1]
    const [rsB, csB] = transB ? [1, k] : [n, 1]
    const t = rt.threads()
    const per = (i: number) => gemmJobs(t, m, n, k, pa + 4 * i * m * k, rsA, csA, pb + 4 * i * k * n, rsB, csB, pc + 4 * i * m * n, n)
    if (batch >= t && 2 * m * n * k < PAR_FLOPS) {
      // many small products: one job per product, claimed by whichever thread is free
      rt.parallel(Array.from({ length: batch }, (_, i) => per(i)[0]))
    } else for (let i = 0; i < batch; i++) rt.parallel(per(i))
  })
}

/** Geometry of a conv2d: x `[N,H,W,C]`, w `[kh,kw,C,co]`, output `[N,OH,OW,co]`. */
export interface ConvGeom {
  readonly x: Shape
  readonly w: Shape
  readonly y: Shape
  readonly strides: readonly number[]
  readonly pads: readonly number[]
}

const dims = ({ x, w, y, strides, pads }: ConvGeom) => {
  const [N, H, W, C] = x
  const [kh, kw, , co] = w
  const [, OH, OW] = y
  const P = N * OH * OW
  const Kc = kh * kw * C
  const direct = kh === 1 && kw === 1 && strides[0] === 1 && strides[1] === 1 && pads.every((p) => p === 0)
  // im2col/col2im argument tail: H W C kh kw sh sw pt pl OH OW
  const geo = [H, W, C, kh, kw, strides[0], strides[1], pads[0], pads[2], OH, OW]
  return { N, H, C, co, P, Kc, direct, geo }
}

/** im2col of x (already in wasm memory) into a fresh [P, Kc] buffer, split over threads by rows. */
const im2col = (rt: WasmRuntime, px: number, d: ReturnType<typeof dims>): number => {
  if (d.direct) return px
  const cols = rt.alloc(d.P * d.Kc * 4)
  const t = d.P * d.Kc < 1 << 16 ? 1 : rt.threads()
  rt.parallel(split(d.P, t * OVERSPLIT, 1).map(([r0, r1]) => [OP.im2col, px, ...d.geo, cols, r0, r1]))
  return cols
}

/** Forward conv of x and w already in wasm memory into y at `py` (implicit GEMM in row chunks). */
const convFwd = (rt: WasmRuntime, px: number, pw: number, d: ReturnType<typeof dims>, py: number): void => {
  const t = 2 * d.P * d.Kc * d.co < PAR_FLOPS ? 1 : rt.threads()
  if (d.direct) {
    rt.parallel(gemmJobs(t, d.P, d.co, d.Kc, px, d.Kc, 1, pw, d.co, 1, py, d.co))
    return
  }
  const parts0 = split(d.P, t * OVERSPLIT, MR, 32)
  if (d.C <= 4096) {
    // implicit GEMM: A panels packed straight from x (C ≤ 4096: the kernel's zero run for padding taps);
    // too few rows to split (deep layers at small batch): split the output channels, in multiples of 8
    const cols = parts0.length === 1 && t > 1 ? split(d.co, t * OVERSPLIT, 8, 32) : [[0, d.co]]
    rt.parallel(
      cols.flatMap(([j0, j1]) =>
        parts0.map(([r0, r1]): Job => [OP.convImplicit, px, ...d.geo, pw + 4 * j0, j1 - j0, py + 4 * j0, r0, r1, d.co]),
      ),
    )
    return
  }
  // rows per im2col chunk: ~1 MiB of columns (L2-resident), at least 64 rows so B packing stays amortised
  const rb = Math.max(64, Math.min(1024, Math.floor((1 << 18) / d.Kc))) & ~(MR - 1)
  const parts = parts0
  // one column buffer per job (jobs may run on any thread, concurrently)
  const bufs = parts.map(([r0, r1]) => rt.alloc(Math.min(rb, r1 - r0) * d.Kc * 4))
  rt.parallel(parts.map(([r0, r1], i) => [OP.convRows, px, ...d.geo, pw, d.co, py, r0, r1, rb, bufs[i]]))
}

/** conv2d forward: x `[N,H,W,C]` ⋆ w `[kh,kw,C,co]` → y `[N,OH,OW,co]`. */
export const conv2dWasm = (x: F, w: F, g: ConvGeom, rt: WasmRuntime = wasmRuntime()): F => {
  const d = dims(g)
  return withHeap(rt, d.P * d.co, (py) => convFwd(rt, upload(rt, x), upload(rt, w), d, py))
}

/**
 * For stride 1 the input gradient is itself a forward conv: dy padded by (k − 1 − pad) ⋆ w flipped in
 * space with in/out channels swapped. Undefined (pads larger than the window) for other geometries.
 */
const dxAsConv = (w: F, g: ConvGeom): { w: F; g: ConvGeom } | undefined => {
  const [kh, kw, C, co] = g.w
  const pads = [kh - 1 - g.pads[0], kh - 1 - g.pads[1], kw - 1 - g.pads[2], kw - 1 - g.pads[3]]
  if (g.strides[0] !== 1 || g.strides[1] !== 1 || pads.some((p) => p < 0)) return undefined
  const wf = new Float32Array(w.length)
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let c = 0; c < C; c++)
        for (let o = 0; o < co; o++) wf[((ky * kw + kx) * co + o) * C + c] = w[(((kh - 1 - ky) * kw + (kw - 1 - kx)) * C + c) * co + o]
  return { w: wf, g: { x: g.y, w: [kh, kw, co, C], y: g.x, strides: [1, 1], pads } }
}

/** conv2d input gradient: dy `[N,OH,OW,co]`, w → dx `[N,H,W,C]` (GEMM dy·wᵀ, then col2im as a gather). */
export const conv2dBackInputWasm = (dy: F, w: F, g: ConvGeom, rt: WasmRuntime = wasmRuntime()): F => {
  const d = dims(g)
  const nx = sizeOf(g.x)
  // the filter flip is a JS pass over w: worth it only when the GEMM has enough rows to amortise it
  const asConv = d.direct || d.N * d.H * g.x[2] < 256 ? undefined : dxAsConv(w, g)
  if (asConv) return withHeap(rt, nx, (dx) => convFwd(rt, upload(rt, dy), upload(rt, asConv.w), dims(asConv.g), dx))
  return withHeap(rt, nx, (dx) => {
    const pdy = upload(rt, dy)
    const pw = upload(rt, w)
    const dcols = d.direct ? dx : rt.alloc(d.P * d.Kc * 4)
    rt.parallel(gemmJobs(rt.threads(), d.P, d.Kc, d.co, pdy, d.co, 1, pw, 1, d.co, dcols, d.Kc))
    if (d.direct) return
    const t = d.P * d.Kc < 1 << 16 ? 1 : rt.threads()
    rt.parallel(split(d.N * d.H, t * OVERSPLIT, 1).map(([q0, q1]) => [OP.col2im, dcols, ...d.geo, dx, q0, q1]))
  })
}

/** Output rows per filter-gradient partial: fixed (never derived from the thread count), so results are too. */
const DW_ROWS = 256

/**
 * conv2d filter gradient: x `[N,H,W,C]`, dy `[N,OH,OW,co]` → dw `[kh,kw,C,co]` (GEMM colsᵀ·dy). With many
 * output rows: partials over fixed 256-row slices (each im2col slice stays in cache), added in order.
 */
export const conv2dBackFilterWasm = (x: F, dy: F, g: ConvGeom, rt: WasmRuntime = wasmRuntime()): F => {
  const d = dims(g)
  const nw = d.Kc * d.co
  return withHeap(rt, nw, (pdw) => {
    const px = upload(rt, x)
    const pdy = upload(rt, dy)
    const slices = split(d.P, Math.ceil(d.P / DW_ROWS), 1, DW_ROWS)
    if (d.direct || slices.length < 4) {
      const cols = im2col(rt, px, d)
      rt.parallel(gemmJobs(rt.threads(), d.Kc, d.co, d.P, cols, 1, d.Kc, pdy, d.co, 1, pdw, d.co))
      return
    }
    const parts = rt.alloc(slices.length * nw * 4)
    rt.parallel(
      slices.map(([r0, r1], i) => [OP.dwPart, px, ...d.geo, pdy, d.co, parts + i * nw * 4, r0, r1]),
      DW_ROWS * 2 * d.Kc * 4,
    )
    const t = rt.threads()
    rt.parallel(split(nw, t * OVERSPLIT, 4, 4096).map(([e0, e1]) => [OP.sumParts, parts, slices.length, nw, pdw, e0, e1]))
  })
}

const conv = (call: { attrs: Record<string, unknown> }, x: Shape, w: Shape, y: Shape): ConvGeom => ({
  x,
  w,
  y,
  strides: call.attrs.strides as number[],
  pads: call.attrs.pads as number[],
})

/** The cpu backend's kernel table entries backed by WASM SIMD. */
export const wasmKernels: Readonly<Record<string, HostKernel<F>>> = {
  matmul: ([a, b], call) => matmulWasm(a, b, call.inShapes[0], !!call.attrs.transA, !!call.attrs.transB, call.outShape),
  conv2d: ([x, w], call) => conv2dWasm(x, w, conv(call, call.inShapes[0], call.inShapes[1], call.outShape)),
  conv2dBackInput: ([dy, w], call) => conv2dBackInputWasm(dy, w, conv(call, call.outShape, call.inShapes[1], call.inShapes[0])),
  conv2dBackFilter: ([x, dy], call) => conv2dBackFilterWasm(x, dy, conv(call, call.inShapes[0], call.outShape, call.inShapes[1])),
}
