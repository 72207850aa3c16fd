// Packed f32x4 GEMM (and its implicit-GEMM variant for conv) for ./kernels.ts. See the header there.

// Register tile MR × NR (4 rows × two f32x4 columns: 8 accumulators + 2 B vectors + 1 A broadcast fits
// the 16 xmm registers V8 uses). KC × NR packed B micro-panels stay in L1, MC × KC packed A in L2.
const MR: i32 = 4
const NR: i32 = 8
const KC: i32 = 256
const MC: i32 = 128
const NC: i32 = 1024

/** Bytes of scratch one thread needs for `gemm`: packed A block, packed B panel, one edge tile. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR + ZMAX) * 4 + 64
}

// Zero floats kept in scratch: implicit-GEMM packing points out-of-image taps at them (no per-element branch).
const ZMAX: i32 = 4096

// Geometry of the conv whose im2col matrix packAConv reads (per instance, i.e. per thread).
let gX: usize = 0
let gH: i32 = 0
let gW: i32 = 0
let gC: i32 = 0
let gKw: i32 = 0
let gSh: i32 = 0
let gSw: i32 = 0
let gPt: i32 = 0
let gPl: i32 = 0
let gOH: i32 = 0
let gOW: i32 = 0
let gZero: usize = 0

// packA for A = im2col(x) read straight from x: rows [row0, row0 + mc) (clamped to `rows`), columns
// [p0, p0 + kc) in (ky, kx, c) order. Same panel layout and values as im2col + packA.
function packAConv(mc: i32, kc: i32, row0: i32, rows: i32, p0: i32, pa: usize): void {
  const C = gC
  const cb = <usize>C * 4
  for (let ir = 0; ir < mc; ir += MR) {
    let dst = pa + <usize>(ir * kc) * 4
    // per row of the micro-panel: image base and top-left input pixel (row beyond the matrix: all zeros)
    let n0 = -1, n1 = -1, n2 = -1, n3 = -1
    let h0 = 0, h1 = 0, h2 = 0, h3 = 0
    let w0 = 0, w1 = 0, w2 = 0, w3 = 0
    for (let j = 0; j < MR; j++) {
      const r = row0 + ir + j
      if (r >= rows) continue
      const ow = r % gOW
      const t = r / gOW
      const oh = t % gOH
      const n = t / gOH
      const hh = oh * gSh - gPt
      const ww = ow * gSw - gPl
      if (j == 0) { n0 = n; h0 = hh; w0 = ww }
      else if (j == 1) { n1 = n; h1 = hh; w1 = ww }
      else if (j == 2) { n2 = n; h2 = hh; w2 = ww }
      else { n3 = n; h3 = hh; w3 = ww }
    }
    let tap = p0 / C
    let c = p0 - tap * C
    let left = kc
    while (left > 0) {
      const ky = tap / gKw
      const kx = tap - ky * gKw
      let ih = h0 + ky, iw = w0 + kx
      const q0 = n0 >= 0 && ih >= 0 && ih < gH && iw >= 0 && iw < gW ? gX + <usize>((n0 * gH + ih) * gW + iw) * cb : gZero
      ih = h1 + ky; iw = w1 + kx
      const q1 = n1 >= 0 && ih >= 0 && ih < gH && iw >= 0 && iw < gW ? gX + <usize>((n1 * gH + ih) * gW + iw) * cb : gZero
      ih = h2 + ky; iw = w2 + kx
      const q2 = n2 >= 0 && ih >= 0 && ih < gH && iw >= 0 && iw < gW ? gX + <usize>((n2 * gH + ih) * gW + iw) * cb : gZero
      ih = h3 + ky; iw = w3 + kx
      const q3 = n3 >= 0 && ih >= 0 && ih < gH && iw >= 0 && iw < gW ? gX + <usize>((n3 * gH + ih) * gW + iw) * cb : gZero
      const cend = min(C, c + left)
      let cc = c
      // 4 channels of the 4 rows at a time: four loads, a 4×4 transpose, four stores
      for (; cc + 4 <= cend; cc += 4) {
        const o = <usize>cc * 4
        storeTransposed4(dst, v128.load(q0 + o), v128.load(q1 + o), v128.load(q2 + o), v128.load(q3 + o), 16)
        dst += 64
      }
      for (; cc < cend; cc++) {
        const o = <usize>cc * 4
        store<f32>(dst, load<f32>(q0 + o))
        store<f32>(dst, load<f32>(q1 + o), 4)
        store<f32>(dst, load<f32>(q2 + o), 8)
        store<f32>(dst, load<f32>(q3 + o), 12)
        dst += 16
      }
      left -= cend - c
      c = 0
      tap++
    }
  }
}

// Packs A rows [0, mc) × cols [0, kc) (A(i, p) at a + 4 (i rsA + p csA)) into MR-row micro-panels,
// p-major, zero-padded to a multiple of MR rows.
function packA(mc: i32, kc: i32, a: usize, rsA: i32, csA: i32, pa: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir)
    let dst = pa + <usize>(ir * kc) * 4
    const row = a + <usize>(ir * rsA) * 4
    if (mr == MR && rsA == 1) {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(row + <usize>(p * csA) * 4))
        dst += 16
      }
    } else if (mr == MR && csA == 1) {
      const r0 = row
      const r1 = row + <usize>rsA * 4
      const r2 = row + <usize>(2 * rsA) * 4
      const r3 = row + <usize>(3 * rsA) * 4
      for (let p = 0; p < kc; p++) {
        const o = <usize>p * 4
        store<f32>(dst, load<f32>(r0 + o))
        store<f32>(dst, load<f32>(r1 + o), 4)
        store<f32>(dst, load<f32>(r2 + o), 8)
        store<f32>(dst, load<f32>(r3 + o), 12)
        dst += 16
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < mr ? load<f32>(row + <usize>(r * rsA + p * csA) * 4) : 0
          store<f32>(dst + <usize>r * 4, v)
        }
        dst += 16
      }
    }
  }
}

// Packs B rows [0, kc) × cols [0, nc) into NR-column micro-panels, p-major, zero-padded.
function packB(kc: i32, nc: i32, b: usize, rsB: i32, csB: i32, pb: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr)
    let dst = pb + <usize>(jr * kc) * 4
    const col = b + <usize>(jr * csB) * 4
    if (nr == NR && csB == 1) {
      for (let p = 0; p < kc; p++) {
        const src = col + <usize>(p * rsB) * 4
        v128.store(dst, v128.load(src))
        v128.store(dst, v128.load(src, 16), 16)
        dst += 32
      }
    } else if (nr == NR && rsB == 1) {
      // B column-major (a transposed operand, e.g. the weights of the input gradient): four p of each of the
      // eight columns per step, as two 4×4 transposes in registers, instead of 32 strided scalar loads
      const cs = <usize>csB * 4
      const q0 = col
      const q1 = col + cs
      const q2 = col + 2 * cs
      const q3 = col + 3 * cs
      const q4 = col + 4 * cs
      const q5 = col + 5 * cs
      const q6 = col + 6 * cs
      const q7 = col + 7 * cs
      let p = 0
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4
        // columns 0–3 of each packed row, then columns 4–7 (rows of NR = 8 floats: 32 bytes apart)
        storeTransposed4(dst, v128.load(q0 + o), v128.load(q1 + o), v128.load(q2 + o), v128.load(q3 + o), 32)
        storeTransposed4(dst + 16, v128.load(q4 + o), v128.load(q5 + o), v128.load(q6 + o), v128.load(q7 + o), 32)
        dst += 128
      }
      for (; p < kc; p++) {
        for (let j = 0; j < NR; j++) store<f32>(dst + <usize>j * 4, load<f32>(col + <usize>(p + j * csB) * 4))
        dst += 32
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          const v: f32 = j < nr ? load<f32>(col + <usize>(p * rsB + j * csB) * 4) : 0
          store<f32>(dst + <usize>j * 4, v)
        }
        dst += 32
      }
    }
  }
}

// The 4×4 transpose of rows r0..r3 (four floats each), stored as four vectors `stride` bytes apart from dst.
@inline
function storeTransposed4(dst: usize, r0: v128, r1: v128, r2: v128, r3: v128, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5)
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5)
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7)
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7)
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5))
  v128.store(dst + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7))
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5))
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7))
}

// c + a · b per lane: one fused multiply-add in the relaxed-SIMD build (where the host has FMA; rounding
// differs from mul-then-add), mul then add in the baseline build (the same bits as before relaxed SIMD).
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c)
  return f32x4.add(c, f32x4.mul(a, b))
}

// C tile (MR × NR at c, row stride ldc bytes) = (accum ? C : 0) + packed A panel · packed B panel.
@inline
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, accum: bool): void {
  let c00 = f32x4.splat(0)
  let c01 = f32x4.splat(0)
  let c10 = f32x4.splat(0)
  let c11 = f32x4.splat(0)
  let c20 = f32x4.splat(0)
  let c21 = f32x4.splat(0)
  let c30 = f32x4.splat(0)
  let c31 = f32x4.splat(0)
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb)
    const b1 = v128.load(pb, 16)
    let a = v128.load32_splat(pa)
    c00 = madd(a, b0, c00)
    c01 = madd(a, b1, c01)
    a = v128.load32_splat(pa, 4)
    c10 = madd(a, b0, c10)
    c11 = madd(a, b1, c11)
    a = v128.load32_splat(pa, 8)
    c20 = madd(a, b0, c20)
    c21 = madd(a, b1, c21)
    a = v128.load32_splat(pa, 12)
    c30 = madd(a, b0, c30)
    c31 = madd(a, b1, c31)
    pa += 16
    pb += 32
  }
  if (accum) {
    c00 = f32x4.add(v128.load(c), c00)
    c01 = f32x4.add(v128.load(c, 16), c01)
    c10 = f32x4.add(v128.load(c + ldc), c10)
    c11 = f32x4.add(v128.load(c + ldc, 16), c11)
    c20 = f32x4.add(v128.load(c + 2 * ldc), c20)
    c21 = f32x4.add(v128.load(c + 2 * ldc, 16), c21)
    c30 = f32x4.add(v128.load(c + 3 * ldc), c30)
    c31 = f32x4.add(v128.load(c + 3 * ldc, 16), c31)
  }
  v128.store(c, c00)
  v128.store(c, c01, 16)
  v128.store(c + ldc, c10)
  v128.store(c + ldc, c11, 16)
  v128.store(c + 2 * ldc, c20)
  v128.store(c + 2 * ldc, c21, 16)
  v128.store(c + 3 * ldc, c30)
  v128.store(c + 3 * ldc, c31, 16)
}

/**
 * C[m×n] (row stride ldc elements) = A · B with A(i, p) at a + 4 (i rsA + p csA) and B(p, j) at
 * b + 4 (p rsB + j csB): transposes are just swapped strides. `scratch` holds gemmScratchBytes().
 */
export function gemm(m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, rsB: i32, csB: i32, c: usize, ldc: i32, scratch: usize): void {
  gemmImpl(m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, scratch, false, 0, 0)
}

// gemm; with `conv`, A is im2col(x) of the current conv geometry, rows [row0, row0 + m) of `rows`.
function gemmImpl(m: i32, n: i32, k: i32, a: usize, rsA: i32, csA: i32, b: usize, rsB: i32, csB: i32, c: usize, ldc: i32, scratch: usize, conv: bool, row0: i32, rows: i32): void {
  if (m <= 0 || n <= 0) return
  const ldcB = <usize>ldc * 4
  if (k <= 0) {
    for (let i = 0; i < m; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>n * 4)
    return
  }
  const pa = (scratch + 15) & ~15
  const pb = pa + <usize>(MC * KC) * 4
  const tile = pb + <usize>(KC * NC) * 4
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc)
    // equal k blocks (e.g. 288 = 144 + 144, not 256 + 32): a short last block pays a C read-modify-write
    // for little work. Depends on k only, so the accumulation order stays split-independent.
    const kstep = (k + (k + KC - 1) / KC - 1) / ((k + KC - 1) / KC)
    for (let pc = 0; pc < k; pc += kstep) {
      const kc = min(kstep, k - pc)
      const accum = pc > 0
      packB(kc, nc, b + <usize>(pc * rsB + jc * csB) * 4, rsB, csB, pb)
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic)
        if (conv) packAConv(mc, kc, row0 + ic, rows, pc, pa)
        else packA(mc, kc, a + <usize>(ic * rsA + pc * csA) * 4, rsA, csA, pa)
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr)
          const bp = pb + <usize>(jr * kc) * 4
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir)
            const ap = pa + <usize>(ir * kc) * 4
            const cp = c + <usize>(ic + ir) * ldcB + <usize>(jc + jr) * 4
            if (mr == MR && nr == NR) {
              micro(kc, ap, bp, cp, ldcB, accum)
            } else {
              micro(kc, ap, bp, tile, <usize>NR * 4, false)
              for (let i = 0; i < mr; i++)
                for (let j = 0; j < nr; j++) {
                  const dst = cp + <usize>i * ldcB + <usize>j * 4
                  const t = load<f32>(tile + <usize>(i * NR + j) * 4)
                  store<f32>(dst, accum ? load<f32>(dst) + t : t)
                }
            }
          }
        }
      }
    }
  }
}

/**
 * C[m×n] (row stride ld, as B's) = im2col(x) rows [row0, row0 + m) · B, im2col never materialised: A panels are packed straight
 * from x [N, H, W, C] (C ≤ 4096: out-of-image taps read a run of zeros kept in `scratch`).
 */
export function gemmConv(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, n: i32, b: usize, c: usize, row0: i32, row1: i32, ld: i32, scratch: usize): void {
  const base = (scratch + 15) & ~15
  gZero = base + <usize>(MC * KC + KC * NC + MR * NR) * 4
  memory.fill(gZero, 0, <usize>C * 4)
  gX = x
  gH = H
  gW = W
  gC = C
  gKw = kw
  gSh = sh
  gSw = sw
  gPt = pt
  gPl = pl
  gOH = OH
  gOW = OW
  gemmImpl(row1 - row0, n, kh * kw * C, 0, 0, 0, b, ld, 1, c, ld, scratch, true, row0, row1)
}
