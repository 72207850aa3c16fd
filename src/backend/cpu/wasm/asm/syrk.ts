// float64 Gram matrix (SYRK, upper triangle) of float32 columns for ./kernels.ts: the `gram` primitive's
// accumulation on the cpu backend. Products of two float32 values are exact in float64, and every entry
// G[a][b] is summed over the rows in order 0, 1, …, so the result equals the scalar float64 loop bit for bit,
// whatever the split over threads (jobs own whole output rows of panels).
//
// Columns are first packed as float64 panels of four: panel p holds columns 4p..4p+3 of a chunk of `rows`
// rows as [rows][4] f64 (32 bytes a row). A 4 × 4 output tile is 8 f64x2 accumulators: per row, two vector
// loads of panel b and four broadcasts from panel a.

// Rows of a panel block kept hot while a panel row of output tiles is computed (2 × 4 KiB of panels in L1,
// all panels of the block, np · 4 KiB, in L2).
const KC: i32 = 128

/**
 * Packs rows [r0, r1) of x (row-major float32, `ld` floats a row, first `c` columns used) as columns
 * col0..col0 + c − 1 of the float64 panels at `dst` (each panel `rows` rows).
 */
export function gramPack(x: usize, ld: i32, c: i32, col0: i32, rows: i32, r0: i32, r1: i32, dst: usize): void {
  const pb = <usize>rows * 32
  for (let j = 0; j < c; j++) {
    const col = col0 + j
    const base = dst + <usize>(col >> 2) * pb + <usize>(col & 3) * 8
    for (let r = r0; r < r1; r++) store<f64>(base + <usize>r * 32, <f64>load<f32>(x + (<usize>r * <usize>ld + <usize>j) * 4))
  }
}

/**
 * Packs rows [r0, r1) of a row-major float32 matrix whose `c` columns (a multiple of 4) are all packed,
 * starting at column col0 (a multiple of 4): the fast path of gramPack (one f32x4 load a row and panel).
 */
export function gramPack4(x: usize, ld: i32, c: i32, col0: i32, rows: i32, r0: i32, r1: i32, dst: usize): void {
  const pb = <usize>rows * 32
  for (let r = r0; r < r1; r++) {
    const src = x + <usize>r * <usize>ld * 4
    let d = dst + <usize>(col0 >> 2) * pb + <usize>r * 32
    for (let j = 0; j < c; j += 4) {
      const v = v128.load(src + <usize>j * 4)
      v128.store(d, f64x2.promote_low_f32x4(v))
      v128.store(d + 16, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)))
      d += pb
    }
  }
}

// G[4pa.., 4pb..] (row stride ldg f64) += Σ_{r in [r0, r1)} a_r ⊗ b_r over panels a, b.
@inline
function tile(a: usize, b: usize, r0: i32, r1: i32, g: usize, ldg: usize): void {
  const g1 = g + ldg * 8
  const g2 = g1 + ldg * 8
  const g3 = g2 + ldg * 8
  let c00 = v128.load(g), c01 = v128.load(g + 16)
  let c10 = v128.load(g1), c11 = v128.load(g1 + 16)
  let c20 = v128.load(g2), c21 = v128.load(g2 + 16)
  let c30 = v128.load(g3), c31 = v128.load(g3 + 16)
  for (let r = r0; r < r1; r++) {
    const o = <usize>r * 32
    const b0 = v128.load(b + o)
    const b1 = v128.load(b + o + 16)
    const a0 = v128.load64_splat(a + o)
    const a1 = v128.load64_splat(a + o + 8)
    const a2 = v128.load64_splat(a + o + 16)
    const a3 = v128.load64_splat(a + o + 24)
    c00 = f64x2.add(c00, f64x2.mul(a0, b0))
    c01 = f64x2.add(c01, f64x2.mul(a0, b1))
    c10 = f64x2.add(c10, f64x2.mul(a1, b0))
    c11 = f64x2.add(c11, f64x2.mul(a1, b1))
    c20 = f64x2.add(c20, f64x2.mul(a2, b0))
    c21 = f64x2.add(c21, f64x2.mul(a2, b1))
    c30 = f64x2.add(c30, f64x2.mul(a3, b0))
    c31 = f64x2.add(c31, f64x2.mul(a3, b1))
  }
  v128.store(g, c00)
  v128.store(g + 16, c01)
  v128.store(g1, c10)
  v128.store(g1 + 16, c11)
  v128.store(g2, c20)
  v128.store(g2 + 16, c21)
  v128.store(g3, c30)
  v128.store(g3 + 16, c31)
}

/**
 * Adds the Gram matrix of the packed chunk (np panels of `rows` rows at `panels`) to output panel rows
 * [pa0, pa1) of the upper triangle of g (4·np × 4·np float64, row-major): tiles (pa, pb) with pb ≥ pa.
 */
export function gramSyrk(panels: usize, rows: i32, np: i32, g: usize, pa0: i32, pa1: i32): void {
  const pb = <usize>rows * 32
  const ldg = <usize>np * 4
  for (let r0 = 0; r0 < rows; r0 += KC) {
    const r1 = min(rows, r0 + KC)
    for (let pa = pa0; pa < pa1; pa++) {
      const a = panels + <usize>pa * pb
      const grow = g + <usize>pa * 4 * ldg * 8
      for (let q = pa; q < np; q++) tile(a, panels + <usize>q * pb, r0, r1, grow + <usize>q * 32, ldg)
    }
  }
}

/**
 * Thin Gram partials (K = n·c < 8 columns, LAF's few tasks): for each part p in [p0, p1), the float64 sums
 * over rows [p·R, min(d, (p + 1)·R)) of every product of two columns, into parts + p·K·K f64 (upper triangle of
 * a row-major K × K). `ptrs` holds the n inputs' byte offsets (i32 each; input t is row-major [d, c] float32).
 * Parts have fixed boundaries (R depends on the shape only) and callers add them in order, so results do not
 * depend on the thread count. Every column is read once, in place.
 */
export function gramThin(ptrs: usize, n: i32, c: i32, d: i32, R: i32, p0: i32, p1: i32, parts: usize): void {
  const k = n * c
  for (let p = p0; p < p1; p++) {
    const r0 = p * R
    const r1 = min(d, r0 + R)
    const dst = parts + <usize>p * <usize>(k * k) * 8
    if (k == 2 && n == 2) gramPair(<usize>load<i32>(ptrs), <usize>load<i32>(ptrs + 4), r0, r1, dst)
    else gramRows(ptrs, n, c, r0, r1, dst)
  }
}

// lane sum of an f64x2
@inline
function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1)
}

// [xx, xy; ·, yy] over rows [r0, r1) of two float32 columns: four rows a step in six f64x2 accumulators
function gramPair(x: usize, y: usize, r0: i32, r1: i32, dst: usize): void {
  let xx0 = f64x2.splat(0), xx1 = f64x2.splat(0)
  let xy0 = f64x2.splat(0), xy1 = f64x2.splat(0)
  let yy0 = f64x2.splat(0), yy1 = f64x2.splat(0)
  let r = r0
  for (; r + 4 <= r1; r += 4) {
    const o = <usize>r * 4
    const vx = v128.load(x + o)
    const vy = v128.load(y + o)
    const xl = f64x2.promote_low_f32x4(vx)
    const xh = f64x2.promote_low_f32x4(i32x4.shuffle(vx, vx, 2, 3, 0, 1))
    const yl = f64x2.promote_low_f32x4(vy)
    const yh = f64x2.promote_low_f32x4(i32x4.shuffle(vy, vy, 2, 3, 0, 1))
    xx0 = f64x2.add(xx0, f64x2.mul(xl, xl))
    xx1 = f64x2.add(xx1, f64x2.mul(xh, xh))
    xy0 = f64x2.add(xy0, f64x2.mul(xl, yl))
    xy1 = f64x2.add(xy1, f64x2.mul(xh, yh))
    yy0 = f64x2.add(yy0, f64x2.mul(yl, yl))
    yy1 = f64x2.add(yy1, f64x2.mul(yh, yh))
  }
  let sxx = hsum(xx0) + hsum(xx1)
  let sxy = hsum(xy0) + hsum(xy1)
  let syy = hsum(yy0) + hsum(yy1)
  for (; r < r1; r++) {
    const a = <f64>load<f32>(x + <usize>r * 4)
    const b = <f64>load<f32>(y + <usize>r * 4)
    sxx += a * a
    sxy += a * b
    syy += b * b
  }
  store<f64>(dst, sxx)
  store<f64>(dst + 8, sxy)
  store<f64>(dst + 16, 0)
  store<f64>(dst + 24, syy)
}

// any K < 8: one row of K values at a time, products summed into the upper triangle at dst
function gramRows(ptrs: usize, n: i32, c: i32, r0: i32, r1: i32, dst: usize): void {
  const k = n * c
  memory.fill(dst, 0, <usize>(k * k) * 8)
  for (let r = r0; r < r1; r++) {
    for (let a = 0; a < k; a++) {
      const va = <f64>load<f32>(<usize>load<i32>(ptrs + <usize>(a / c) * 4) + (<usize>r * <usize>c + <usize>(a % c)) * 4)
      if (va == 0) continue
      const row = dst + <usize>(a * k) * 8
      for (let b = a; b < k; b++) {
        const vb = <f64>load<f32>(<usize>load<i32>(ptrs + <usize>(b / c) * 4) + (<usize>r * <usize>c + <usize>(b % c)) * 4)
        store<f64>(row + <usize>b * 8, load<f64>(row + <usize>b * 8) + va * vb)
      }
    }
  }
}
