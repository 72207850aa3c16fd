// Max pooling (NHWC) for ./kernels.ts, f32x4 over channels. Same rule as the JS and ref kernels: the first
// element of a window seeds the maximum and a later one replaces it only when strictly greater, so ties keep
// the first in row-major order and a NaN never replaces (a NaN seed stays). Windows of padding only are the
// caller's business (it keeps those geometries on the JS kernel).

// window bounds of output (i, j): [h0, h1) × [w0, w1)
@inline
function lo(i: i32, s: i32, p: i32): i32 {
  return max(0, i * s - p)
}

/** y rows q = n·OH + i in [q0, q1): window maxima of x [N, H, W, C]. */
export function maxPoolRows(x: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, y: usize, q0: i32, q1: i32): void {
  const cb = <usize>C * 4
  const c4 = C & ~3
  for (let q = q0; q < q1; q++) {
    const i = q % OH
    const n = q / OH
    const h0 = lo(i, sh, pt)
    const h1 = min(H, i * sh - pt + kh)
    for (let j = 0; j < OW; j++) {
      const w0 = lo(j, sw, pl)
      const w1 = min(W, j * sw - pl + kw)
      const dst = y + <usize>(q * OW + j) * cb
      const s0 = x + <usize>((n * H + h0) * W + w0) * cb
      for (let c = 0; c < c4; c += 4) {
        const o = <usize>c * 4
        let best = v128.load(s0 + o)
        for (let ih = h0; ih < h1; ih++)
          for (let iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
            const v = v128.load(x + <usize>((n * H + ih) * W + iw) * cb + o)
            best = v128.bitselect(v, best, f32x4.gt(v, best))
          }
        v128.store(dst + o, best)
      }
      for (let c = c4; c < C; c++) {
        const o = <usize>c * 4
        let best = load<f32>(s0 + o)
        for (let ih = h0; ih < h1; ih++)
          for (let iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
            const v = load<f32>(x + <usize>((n * H + ih) * W + iw) * cb + o)
            if (v > best) best = v
          }
        store<f32>(dst + o, best)
      }
    }
  }
}

/**
 * dx for images [n0, n1): zero them, then add dy of every window to its first maximum (images never share
 * an input pixel, so threads split by image write disjoint memory).
 */
export function maxPoolBackImages(x: usize, dy: usize, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, OH: i32, OW: i32, dx: usize, n0: i32, n1: i32): void {
  const cb = <usize>C * 4
  const img = <usize>(H * W) * cb
  memory.fill(dx + <usize>n0 * img, 0, <usize>(n1 - n0) * img)
  const c4 = C & ~3
  for (let n = n0; n < n1; n++)
    for (let i = 0; i < OH; i++) {
      const h0 = lo(i, sh, pt)
      const h1 = min(H, i * sh - pt + kh)
      for (let j = 0; j < OW; j++) {
        const w0 = lo(j, sw, pl)
        const w1 = min(W, j * sw - pl + kw)
        const g = dy + <usize>(((n * OH + i) * OW + j) * C) * 4
        const first = <usize>((n * H + h0) * W + w0) * cb
        for (let c = 0; c < c4; c += 4) {
          const o = <usize>c * 4
          let best = v128.load(x + first + o)
          let at = i32x4.splat(<i32>first)
          for (let ih = h0; ih < h1; ih++)
            for (let iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
              const off = <usize>((n * H + ih) * W + iw) * cb
              const v = v128.load(x + off + o)
              const m = f32x4.gt(v, best)
              best = v128.bitselect(v, best, m)
              at = v128.bitselect(i32x4.splat(<i32>off), at, m)
            }
          const gv = v128.load(g + o)
          let p = dx + <usize>i32x4.extract_lane(at, 0) + o
          store<f32>(p, load<f32>(p) + f32x4.extract_lane(gv, 0))
          p = dx + <usize>i32x4.extract_lane(at, 1) + o + 4
          store<f32>(p, load<f32>(p) + f32x4.extract_lane(gv, 1))
          p = dx + <usize>i32x4.extract_lane(at, 2) + o + 8
          store<f32>(p, load<f32>(p) + f32x4.extract_lane(gv, 2))
          p = dx + <usize>i32x4.extract_lane(at, 3) + o + 12
          store<f32>(p, load<f32>(p) + f32x4.extract_lane(gv, 3))
        }
        for (let c = c4; c < C; c++) {
          const o = <usize>c * 4
          let best = load<f32>(x + first + o)
          let at = first
          for (let ih = h0; ih < h1; ih++)
            for (let iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
              const off = <usize>((n * H + ih) * W + iw) * cb
              const v = load<f32>(x + off + o)
              if (v > best) {
                best = v
                at = off
              }
            }
          const p = dx + at + o
          store<f32>(p, load<f32>(p) + load<f32>(g + o))
        }
      }
    }
}
