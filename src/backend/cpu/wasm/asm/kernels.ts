// WASM SIMD (f32x4) GEMM-class kernels for softshare's cpu backend, in AssemblyScript.
// Built by src/backend/cpu/wasm/build.mjs into src/backend/cpu/wasm/kernels.wasm.ts (base64).
//
// Memory is imported (one shared WebAssembly.Memory for the calling thread and every worker); the
// kernels allocate nothing: every buffer, including per-thread packing scratch, is a byte offset chosen
// by the JS side. Results do not depend on how a caller splits the output (rows or columns): every
// output element is accumulated in the same order (k blocks of KC, then p inside a block).

import { gemm, gemmConv } from './gemm'
export { gemm, gemmScratchBytes } from './gemm'

/**
 * im2col rows [r0, r1) of an NHWC input x [N, H, W, C] for a kh × kw window with strides (sh, sw) and
 * top/left pads (pt, pl): row r = (n, oh, ow) of cols [N·OH·OW, kh·kw·C], columns ordered (ky, kx, c)
 * to match HWIO filters flattened to [kh·kw·C, cout]. Out-of-range taps are zeros.
 */
export function im2col(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, cols: usize, r0: i32, r1: i32): void {
  im2colAt(x, H, W, C, kh, kw, sh, sw, pt, pl, OH, OW, cols, r0, r1, 0)
}

// im2col rows [r0, r1) written from cols + (r - base) rows.
function im2colAt(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, cols: usize, r0: i32, r1: i32, base: i32): void {
  const kc = kh * kw * C
  const cb = <usize>C * 4
  for (let r = r0; r < r1; r++) {
    const ow = r % OW
    const t = r / OW
    const oh = t % OH
    const n = t / OH
    let dst = cols + <usize>(r - base) * <usize>kc * 4
    for (let ky = 0; ky < kh; ky++) {
      const ih = oh * sh - pt + ky
      if (ih < 0 || ih >= H) {
        memory.fill(dst, 0, cb * <usize>kw)
        dst += cb * <usize>kw
        continue
      }
      const rowBase = x + <usize>((n * H + ih) * W) * cb
      for (let kx = 0; kx < kw; kx++) {
        const iw = ow * sw - pl + kx
        if (iw < 0 || iw >= W) memory.fill(dst, 0, cb)
        else if (C < 8) {
          // tiny channel counts (the RGB stem): a bulk-memory call per tap costs more than the copy
          const src = rowBase + <usize>iw * cb
          for (let c = 0; c < C; c++) store<f32>(dst + <usize>c * 4, load<f32>(src + <usize>c * 4))
        } else memory.copy(dst, rowBase + <usize>iw * cb, cb)
        dst += cb
      }
    }
  }
}

// dst[0..C) += src[0..C)
@inline
function addTo(dst: usize, src: usize, C: i32): void {
  let c = 0
  for (; c + 4 <= C; c += 4) {
    const o = <usize>c * 4
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)))
  }
  for (; c < C; c++) {
    const o = <usize>c * 4
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o))
  }
}

/**
 * col2im as a gather (deterministic, parallel over input rows): for image rows q = n·H + ih in
 * [q0, q1), dx[n, ih, iw, :] = Σ over taps (ky, kx) that read it of dcols[(n, oh, ow), (ky, kx, :)],
 * in fixed (ky, kx) order.
 */
export function col2im(dcols: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, dx: usize, q0: i32, q1: i32): void {
  const kc = kh * kw * C
  const cb = <usize>C * 4
  for (let q = q0; q < q1; q++) {
    const ih = q % H
    const n = q / H
    for (let iw = 0; iw < W; iw++) {
      const dst = dx + <usize>(q * W + iw) * cb
      memory.fill(dst, 0, cb)
      for (let ky = 0; ky < kh; ky++) {
        const hn = ih + pt - ky
        if (hn < 0 || hn % sh != 0) continue
        const oh = hn / sh
        if (oh >= OH) continue
        for (let kx = 0; kx < kw; kx++) {
          const wn = iw + pl - kx
          if (wn < 0 || wn % sw != 0) continue
          const ow = wn / sw
          if (ow >= OW) continue
          addTo(dst, dcols + (<usize>((n * OH + oh) * OW + ow) * <usize>kc + <usize>((ky * kw + kx) * C)) * 4, C)
        }
      }
    }
  }
}

/**
 * conv2d forward rows [r0, r1) of y [N·OH·OW, co] without a full im2col buffer: im2col `rb` rows at a
 * time into `colbuf` (rb · kh·kw·C floats, cache-resident), then GEMM them with w [kh·kw·C, co]. The GEMM
 * accumulates each output element over k in the same order as one big GEMM, so chunking changes nothing.
 */
export function convRows(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, w: usize, co: i32, y: usize, r0: i32, r1: i32, rb: i32, colbuf: usize, scratch: usize): void {
  const kc = kh * kw * C
  for (let r = r0; r < r1; r += rb) {
    const r2 = min(r1, r + rb)
    im2colAt(x, H, W, C, kh, kw, sh, sw, pt, pl, OH, OW, colbuf, r, r2, r)
    gemm(r2 - r, co, kc, colbuf, kc, 1, w, co, 1, y + <usize>r * <usize>co * 4, co, scratch)
  }
}

/**
 * Filter-gradient partial over output rows [r0, r1): part[kh·kw·C, co] = im2col(x)[r0:r1]ᵀ · dy[r0:r1].
 * Callers cut rows at fixed boundaries and add the partials in order (sumParts), so the result does not
 * depend on the number of threads.
 */
export function dwPart(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, dy: usize, co: i32, part: usize, r0: i32, r1: i32, colbuf: usize, scratch: usize): void {
  const kc = kh * kw * C
  im2colAt(x, H, W, C, kh, kw, sh, sw, pt, pl, OH, OW, colbuf, r0, r1, r0)
  gemm(kc, co, r1 - r0, colbuf, 1, kc, dy + <usize>r0 * <usize>co * 4, co, 1, part, co, scratch)
}

/** out[e] = Σ_{c < n} parts[c · stride + e] for e in [e0, e1), summed in order c = 0, 1, … */
export function sumParts(parts: usize, n: i32, stride: i32, out: usize, e0: i32, e1: i32): void {
  const sb = <usize>stride * 4
  let e = e0
  for (; e + 4 <= e1; e += 4) {
    const o = <usize>e * 4
    let s = v128.load(parts + o)
    for (let c = 1; c < n; c++) s = f32x4.add(s, v128.load(parts + <usize>c * sb + o))
    v128.store(out + o, s)
  }
  for (; e < e1; e++) {
    const o = <usize>e * 4
    let s = load<f32>(parts + o)
    for (let c = 1; c < n; c++) s += load<f32>(parts + <usize>c * sb + o)
    store<f32>(out + o, s)
  }
}

/**
 * conv2d forward rows [r0, r1) and `co` output channels of y [N·OH·OW, ld] as an implicit GEMM (w and y point
 * at the first of those channels; ld is the full channel count): A panels are packed straight from x (no
 * im2col buffer). Needs C ≤ 4096 (the zero run for out-of-image taps). Same values as convRows.
 */
export function convImplicit(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, w: usize, co: i32, y: usize, r0: i32, r1: i32, ld: i32, scratch: usize): void {
  gemmConv(x, H, W, C, kh, kw, sh, sw, pt, pl, OH, OW, co, w, y + <usize>r0 * <usize>ld * 4, r0, r1, ld, scratch)
}

export { ew, ewRegBytes, sumRows, sumPartsF64 } from './elementwise'
export { maxPoolRows, maxPoolBackImages } from './pool'
export { gramPack, gramPack4, gramSyrk, gramThin } from './syrk'
