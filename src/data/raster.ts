/**
 * A tiny anti-aliased rasteriser for the synthetic faces: shapes are coverage functions of a pixel centre
 * (signed distance mapped to [0,1] over one pixel), painted over a grayscale S×S Float32Array inside their
 * bounding box only, which keeps a 48×48 face well under a millisecond.
 */

export type Pt = readonly [number, number]

/** A shape: its pixel-space bounding box and its coverage in [0,1] at a pixel centre. */
export interface Shape2 {
  x0: number
  y0: number
  x1: number
  y1: number
  cov: (x: number, y: number) => number
}

const clamp01 = (v: number): number => Math.max(0, Math.min(v, 1))

/** Squared distance from (px,py) to the segment a-b. */
const segDist2 = (px: number, py: number, ax: number, ay: number, bx: number, by: number): number => {
  const dx = bx - ax
  const dy = by - ay
  const l2 = dx * dx + dy * dy
  let t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0
  t = Math.max(0, Math.min(t, 1))
  const ex = px - ax - t * dx
  const ey = py - ay - t * dy
  return ex * ex + ey * ey
}

const bounds = (pts: readonly Pt[], pad: number): [number, number, number, number] => {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x)
    y0 = Math.min(y0, y)
    x1 = Math.max(x1, x)
    y1 = Math.max(y1, y)
  }
  return [x0 - pad, y0 - pad, x1 + pad, y1 + pad]
}

/**
 * A filled closed polygon (even-odd rule), anti-aliased over one pixel at its edges. Painting goes row by
 * row, so the edges that can matter for a row (within a pixel of it) are found once per row: a face outline
 * of 30 edges then costs a few edge tests per pixel instead of 30.
 */
export const polygon = (pts: readonly Pt[]): Shape2 => {
  const [x0, y0, x1, y1] = bounds(pts, 1)
  const n = pts.length
  const ex = new Float64Array(4 * n) // edge i: (xa, ya, xb, yb)
  for (let i = 0; i < n; i++) {
    const j = (i + n - 1) % n
    ex.set([pts[j][0], pts[j][1], pts[i][0], pts[i][1]], 4 * i)
  }
  // memo of the row being painted: which edges lie within a pixel of it
  let rowY = Number.NaN
  const active = new Int32Array(n)
  let count = 0
  return {
    x0,
    y0,
    x1,
    y1,
    cov: (x, y) => {
      if (y !== rowY) {
        rowY = y
        count = 0
        for (let i = 0; i < n; i++) {
          const ya = ex[4 * i + 1]
          const yb = ex[4 * i + 3]
          if (Math.min(ya, yb) - 1 <= y && y <= Math.max(ya, yb) + 1) active[count++] = 4 * i
        }
      }
      let inside = false
      let d = 1
      for (let k = 0; k < count; k++) {
        const o = active[k]
        const xa = ex[o]
        const ya = ex[o + 1]
        const xb = ex[o + 2]
        const yb = ex[o + 3]
        if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside
        const e = segDist2(x, y, xa, ya, xb, yb)
        if (e < d) d = e
      }
      d = Math.sqrt(d)
      return clamp01(0.5 + (inside ? d : -d))
    },
  }
}

/**
 * A stroked polyline whose radius goes linearly from r0 at the first point to r1 at the last; lines thinner
 * than a pixel keep their area (peak coverage 2r) so they fade instead of vanishing.
 */
export const stroke = (pts: readonly Pt[], r0: number, r1 = r0, closed = false): Shape2 => {
  const [x0, y0, x1, y1] = bounds(pts, Math.max(r0, r1) + 1)
  const path = closed ? [...pts, pts[0]] : pts
  const m = path.length - 1
  const xy = new Float64Array(2 * path.length)
  for (let i = 0; i < path.length; i++) xy.set(path[i], 2 * i)
  return {
    x0,
    y0,
    x1,
    y1,
    cov: (x, y) => {
      let best = 0
      for (let i = 0; i < m; i++) {
        const ax = xy[2 * i]
        const ay = xy[2 * i + 1]
        const dx = xy[2 * i + 2] - ax
        const dy = xy[2 * i + 3] - ay
        const l2 = dx * dx + dy * dy
        let t = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0
        t = Math.max(0, Math.min(t, 1))
        const ex = x - ax - t * dx
        const ey = y - ay - t * dy
        const r = r0 + ((r1 - r0) * (i + t)) / Math.max(1, m)
        const c = clamp01(Math.min(r + 0.5 - Math.sqrt(ex * ex + ey * ey), 2 * r))
        if (c > best) best = c
      }
      return best
    },
  }
}

/** A filled ellipse with semi-axes a, b rotated by `angle`; first-order signed-distance anti-aliasing. */
export const ellipse = (cx: number, cy: number, a: number, b: number, angle = 0): Shape2 => {
  const c = Math.cos(angle)
  const s = Math.sin(angle)
  const r = Math.max(a, b) + 1
  return {
    x0: cx - r,
    y0: cy - r,
    x1: cx + r,
    y1: cy + r,
    cov: (x, y) => {
      const u = (x - cx) * c + (y - cy) * s
      const v = -(x - cx) * s + (y - cy) * c
      const k = Math.sqrt((u * u) / (a * a) + (v * v) / (b * b))
      if (k === 0) return 1
      const g = Math.sqrt((u * u) / (a * a * a * a) + (v * v) / (b * b * b * b)) / k
      return clamp01(0.5 - (k - 1) / g)
    },
  }
}

/** The intersection of two shapes (coverage product), e.g. an iris clipped by its eyelids; put the cheaper shape first. */
export const clip = (a: Shape2, b: Shape2): Shape2 => ({
  x0: Math.max(a.x0, b.x0),
  y0: Math.max(a.y0, b.y0),
  x1: Math.min(a.x1, b.x1),
  y1: Math.min(a.y1, b.y1),
  cov: (x, y) => {
    const ca = a.cov(x, y)
    return ca === 0 ? 0 : ca * b.cov(x, y)
  },
})

/** Paints `color` over `img` (S×S, row-major) with opacity `alpha` × coverage; mutates only `img`. */
export const paint = (img: Float32Array, size: number, shape: Shape2, color: number, alpha = 1): void => {
  const i0 = Math.max(0, Math.floor(shape.y0))
  const i1 = Math.min(size - 1, Math.ceil(shape.y1))
  const j0 = Math.max(0, Math.floor(shape.x0))
  const j1 = Math.min(size - 1, Math.ceil(shape.x1))
  for (let i = i0; i <= i1; i++) {
    const y = i + 0.5
    for (let j = j0; j <= j1; j++) {
      const a = alpha * shape.cov(j + 0.5, y)
      if (a > 0) img[i * size + j] += (color - img[i * size + j]) * a
    }
  }
}

/** Separable [1,2,1]/4 blur with edge clamping, `passes` times (in place on a copy; returns the copy). */
export const blur121 = (img: Float32Array, size: number, passes: number): Float32Array => {
  let a = img
  for (let p = 0; p < passes; p++) {
    const b = new Float32Array(a.length)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const l = a[i * size + Math.max(0, j - 1)]
        const r = a[i * size + Math.min(size - 1, j + 1)]
        b[i * size + j] = 0.25 * l + 0.5 * a[i * size + j] + 0.25 * r
      }
    a = new Float32Array(b.length)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const u = b[Math.max(0, i - 1) * size + j]
        const d = b[Math.min(size - 1, i + 1) * size + j]
        a[i * size + j] = 0.25 * u + 0.5 * b[i * size + j] + 0.25 * d
      }
  }
  return a
}
