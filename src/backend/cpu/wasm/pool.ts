/**
 * Max pooling on the WASM SIMD runtime (channels as f32x4): forward split over output rows, backward over
 * images (windows of different images never share an input pixel). Same values as the JS kernels, bit for
 * bit (same comparisons, and dx sums each pixel's window gradients in output order). Geometries with
 * windows of padding only stay on the JS kernels, which mirror ref's convention for them.
 */
import type { KernelCall } from '../../backend.ts'
import { poolDims } from '../../geometry.ts'
import { type Job, OP, type WasmRuntime } from './runtime.ts'
import { upload, withHeap } from './kernels.ts'

type F = Float32Array

/** The geometry argument tail (H W C kh kw sh sw pt pl OH OW), or undefined when some window is padding only. */
const geometry = (call: KernelCall, x: readonly number[]) => {
  const d = poolDims(call, x)
  const empty = (o: number, s: number, p: number, k: number, size: number) => {
    for (let i = 0; i < o; i++) if (Math.max(0, i * s - p) >= Math.min(size, i * s - p + k)) return true
    return false
  }
  if (empty(d.oh, d.sh, d.pt, d.kh, d.h) || empty(d.ow, d.sw, d.pl, d.kw, d.w)) return undefined
  return { d, geo: [d.h, d.w, d.c, d.kh, d.kw, d.sh, d.sw, d.pt, d.pl, d.oh, d.ow] }
}

const chunks = (n: number, parts: number): [number, number][] => {
  const step = Math.max(1, Math.ceil(n / parts))
  const out: [number, number][] = []
  for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)])
  return out
}

/** maxPool forward: x `[N,H,W,C]` → y `[N,OH,OW,C]`, or undefined (padding-only windows: use the JS kernel). */
export const maxPoolWasm = (rt: WasmRuntime, x: F, call: KernelCall): F | undefined => {
  const g = geometry(call, call.inShapes[0])
  if (!g) return undefined
  const { d, geo } = g
  return withHeap(rt, d.n * d.oh * d.ow * d.c, (py) => {
    const px = upload(rt, x)
    const t = x.length < 1 << 15 ? 1 : rt.threads() * 3
    rt.parallel(chunks(d.n * d.oh, t).map(([q0, q1]): Job => [OP.maxPoolRows, px, ...geo, py, q0, q1]))
  })
}

/** maxPool backward: x `[N,H,W,C]`, dy `[N,OH,OW,C]` → dx `[N,H,W,C]`, or undefined as maxPoolWasm. */
export const maxPoolBackWasm = (rt: WasmRuntime, x: F, dy: F, call: KernelCall): F | undefined => {
  const g = geometry(call, call.inShapes[0])
  if (!g) return undefined
  const { d, geo } = g
  return withHeap(rt, x.length, (pdx) => {
    const px = upload(rt, x)
    const pdy = upload(rt, dy)
    const t = x.length < 1 << 15 ? 1 : d.n
    rt.parallel(chunks(d.n, t).map(([n0, n1]): Job => [OP.maxPoolBackImages, px, pdy, ...geo, pdx, n0, n1]))
  })
}
