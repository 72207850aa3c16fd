/**
 * The cpu backend's `gram` kernel on the WASM runtime: the float64 Gram matrix of float32 columns as a packed
 * f64x2 SYRK (asm/syrk.ts) on the worker pool, then the host's scale and hi + lo split (tensor/dense.ts). The
 * SYRK's sums equal the host loop's bit for bit (exact float64 products, rows added in order), so small problems
 * stay on the host loop without changing any result. A thin Gram (K < 8, LAF's few tasks) over many rows reads
 * the columns once, in place, as float64 partials over fixed row slices on the pool (gramThinWasm): the same
 * products summed in another order (equal to the host loop to float64 rounding, whatever the thread count).
 */
import { gramHost, packGram } from '../../../tensor/dense.ts'
import type { HostKernel } from '../../backend.ts'
import { upload } from './kernels.ts'
import { OP, type Job, type WasmRuntime } from './runtime.ts'

type F = Float32Array

/** Below this many multiply-adds (D·K²) the host loop is as fast; below K = 8 (LAF's few tasks) the thin kernel runs instead of the SYRK. */
const WASM_WORK = 1 << 18
const WASM_MIN_K = 8
/** Rows per partial of the thin Gram: fixed (the shape alone decides the sums' order, not the thread count). */
const THIN_PART_ROWS = 1 << 14
/**
 * Fewer rows stay on the host loop (under a millisecond there), so small thin Grams (the quickstart's convs,
 * at most 3·3·64·64 rows) keep the host loop's bits.
 */
const THIN_MIN_ROWS = 1 << 17
/** Bytes of float64 panels per chunk of rows (packed, then multiplied, before the next chunk is packed). */
const CHUNK_BYTES = 16 << 20
/** Jobs per thread: spare jobs go to whichever thread is free. */
const OVERSPLIT = 3

/** [start, end) ranges of panel rows 0..np with about equal upper-triangle work (panel row p has np − p tiles). */
const triangleParts = (np: number, parts: number): [number, number][] => {
  const total = (np * (np + 1)) / 2
  const out: [number, number][] = []
  let start = 0
  let acc = 0
  for (let p = 0; p < np; p++) {
    acc += np - p
    if (acc >= (total * (out.length + 1)) / parts || p === np - 1) {
      out.push([start, p + 1])
      start = p + 1
    }
  }
  return out
}

/** Unscaled float64 Gram matrix of the K = n·c columns of float32 [D, c] matrices: row-major, row stride 4⌈K/4⌉ (returned as ld). */
export const gramF64Wasm = (rt: WasmRuntime, xs: readonly F[], d: number, c: number): { g: Float64Array; ld: number } => {
  const k = xs.length * c
  const np = Math.ceil(k / 4)
  const ld = 4 * np
  rt.reset()
  try {
    const pg = rt.alloc(ld * ld * 8)
    rt.f32(pg, 2 * ld * ld).fill(0)
    const ptrs = xs.map((x) => upload(rt, x))
    const chunk = Math.max(1, Math.min(d, Math.floor(CHUNK_BYTES / (np * 32))))
    const panels = rt.alloc(np * chunk * 32)
    const t = rt.threads()
    const packOp = c % 4 === 0 ? OP.gramPack4 : OP.gramPack
    const syrk = triangleParts(np, t > 1 ? t * OVERSPLIT : 1)
    for (let r = 0; r < d; r += chunk) {
      const rows = Math.min(chunk, d - r)
      // padded columns K..4·np − 1 of the last panel stay zero (pack writes only real columns)
      if (k < ld) rt.f32(panels + (np - 1) * rows * 32, rows * 8).fill(0)
      const packs: Job[] = []
      const step = Math.max(64, Math.ceil(rows / t))
      xs.forEach((_, i) => {
        for (let r0 = 0; r0 < rows; r0 += step)
          packs.push([packOp, ptrs[i] + r * c * 4, c, c, i * c, rows, r0, Math.min(rows, r0 + step), panels])
      })
      rt.parallel(packs)
      rt.parallel(syrk.map(([p0, p1]) => [OP.gramSyrk, panels, rows, np, pg, p0, p1]))
    }
    return { g: new Float64Array(rt.f32(pg, 0).buffer, pg, ld * ld).slice(), ld }
  } finally {
    rt.reset()
  }
}

/**
 * Unscaled float64 Gram matrix (upper triangle, row-major K × K) of the K = n·c < 8 columns of float32 [d, c]
 * matrices, read in place: float64 partials over fixed slices of THIN_PART_ROWS rows on the pool, added in order.
 */
export const gramThinWasm = (rt: WasmRuntime, xs: readonly F[], d: number, c: number): Float64Array => {
  const k = xs.length * c
  const nParts = Math.ceil(d / THIN_PART_ROWS)
  rt.reset()
  try {
    const ptrs = rt.alloc(xs.length * 4)
    new Int32Array(rt.f32(0, 0).buffer, ptrs, xs.length).set(xs.map((x) => upload(rt, x)))
    const parts = rt.alloc(nParts * k * k * 8)
    const per = Math.max(1, Math.ceil(nParts / (rt.threads() * OVERSPLIT)))
    const jobs: Job[] = []
    for (let p = 0; p < nParts; p += per)
      jobs.push([OP.gramThin, ptrs, xs.length, c, d, THIN_PART_ROWS, p, Math.min(nParts, p + per), parts])
    rt.parallel(jobs)
    const ps = new Float64Array(rt.f32(0, 0).buffer, parts, nParts * k * k)
    const g = new Float64Array(k * k)
    for (let p = 0; p < nParts; p++) for (let e = 0; e < k * k; e++) g[e] += ps[p * k * k + e]
    return g
  } finally {
    rt.reset()
  }
}

/** The `gram` kernel: float32 [D, c]ⁿ → packed [2K + 1, K] (see gramPrim), on the runtime for large D·K². */
export const gramWasmKernel =
  (rt: WasmRuntime): HostKernel<F> =>
  (xs, call) => {
    const [d, c] = call.inShapes[0]
    const k = xs.length * c
    if (k < WASM_MIN_K && d >= THIN_MIN_ROWS) return Float32Array.from(packGram(gramThinWasm(rt, xs, d, c), k, 1, Math.fround, 127))
    if (k < WASM_MIN_K || d * k * k < WASM_WORK) return Float32Array.from(gramHost(xs, d, c, Math.fround, 127))
    const { g, ld } = gramF64Wasm(rt, xs, d, c)
    return Float32Array.from(packGram(g, k, 1, Math.fround, 127, ld))
  }
