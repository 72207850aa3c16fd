/** Canvas drawing for the demo page: line charts, grouped bars, and face tiles with landmarks. */

export interface Series {
  readonly label: string
  readonly color: string
  readonly points: readonly (readonly [number, number])[]
}

// room above the plot for the title (first line) and the legend (second line)
const PAD = { l: 46, r: 10, t: 34, b: 22 }

/** Fits the canvas's backing store to its CSS size (sharp on high-DPI screens) and clears it. */
const prepare = (canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } => {
  const dpr = globalThis.devicePixelRatio || 1
  const w = canvas.clientWidth || canvas.width
  const h = canvas.clientHeight || canvas.height
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr)
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr)
  const g = canvas.getContext('2d')!
  g.setTransform(dpr, 0, 0, dpr, 0, 0)
  g.clearRect(0, 0, w, h)
  g.font = '11px system-ui, sans-serif'
  return { g, w, h }
}

const tick = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2))

const frame = (g: CanvasRenderingContext2D, w: number, h: number, title: string, y0: number, y1: number): void => {
  g.fillStyle = '#222'
  g.fillText(title, PAD.l, 13)
  g.strokeStyle = '#ccc'
  g.strokeRect(PAD.l, PAD.t, w - PAD.l - PAD.r, h - PAD.t - PAD.b)
  g.fillStyle = '#555'
  for (const f of [0, 0.5, 1]) {
    const v = y0 + f * (y1 - y0)
    g.fillText(tick(v), 4, h - PAD.b - f * (h - PAD.t - PAD.b) + 4)
  }
}

const legend = (g: CanvasRenderingContext2D, w: number, items: readonly { label: string; color: string }[]): void => {
  let x = w - PAD.r
  for (const it of [...items].reverse()) {
    x -= g.measureText(it.label).width + 18
    g.fillStyle = it.color
    g.fillRect(x, 19, 10, 10)
    g.fillStyle = '#222'
    g.fillText(it.label, x + 13, 28)
  }
}

/** Lines over a shared x axis (steps); `xLabel` names the axis under the plot. */
export const lineChart = (canvas: HTMLCanvasElement, title: string, series: readonly Series[], xLabel = 'step'): void => {
  const { g, w, h } = prepare(canvas)
  const all = series.flatMap((s) => s.points)
  if (all.length === 0) {
    frame(g, w, h, `${title} (waiting for data)`, 0, 1)
    return
  }
  const x1 = Math.max(1, ...all.map((p) => p[0]))
  let y0 = Math.min(...all.map((p) => p[1]))
  let y1 = Math.max(...all.map((p) => p[1]))
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5]
  frame(g, w, h, title, y0, y1)
  g.fillStyle = '#555'
  g.fillText(`${xLabel} ${x1}`, w - PAD.r - 60, h - 6)
  const X = (x: number) => PAD.l + (x / x1) * (w - PAD.l - PAD.r)
  const Y = (y: number) => h - PAD.b - ((y - y0) / (y1 - y0)) * (h - PAD.t - PAD.b)
  for (const s of series) {
    g.strokeStyle = s.color
    g.lineWidth = 1.5
    g.beginPath()
    for (const [i, [x, y]] of s.points.entries()) {
      if (i === 0) g.moveTo(X(x), Y(y))
      else g.lineTo(X(x), Y(y))
    }
    g.stroke()
  }
  legend(g, w, series)
}

/** Grouped bars: one group per category (e.g. conv layer), one bar per series; a dashed line at `ref`. */
export const barChart = (
  canvas: HTMLCanvasElement,
  title: string,
  categories: readonly string[],
  groups: readonly { label: string; color: string; values: readonly number[] }[],
  ref = 1,
): void => {
  const { g, w, h } = prepare(canvas)
  const vals = groups.flatMap((s) => s.values).filter(Number.isFinite)
  if (vals.length === 0) {
    frame(g, w, h, `${title} (waiting for data)`, 0, 1)
    return
  }
  const y0 = 0
  const y1 = Math.max(ref * 1.1, ...vals)
  frame(g, w, h, title, y0, y1)
  const Y = (y: number) => h - PAD.b - ((y - y0) / (y1 - y0)) * (h - PAD.t - PAD.b)
  const gw = (w - PAD.l - PAD.r) / categories.length
  const bw = (gw * 0.8) / Math.max(1, groups.length)
  categories.forEach((c, i) => {
    const gx = PAD.l + i * gw + gw * 0.1
    groups.forEach((s, k) => {
      const v = s.values[i]
      if (!Number.isFinite(v)) return
      g.fillStyle = s.color
      g.fillRect(gx + k * bw, Y(v), bw - 1, Y(0) - Y(v))
    })
    g.fillStyle = '#555'
    g.fillText(c, gx, h - 6)
  })
  g.setLineDash([4, 3])
  g.strokeStyle = '#222'
  g.beginPath()
  g.moveTo(PAD.l, Y(ref))
  g.lineTo(w - PAD.r, Y(ref))
  g.stroke()
  g.setLineDash([])
  legend(g, w, groups)
}

/** A face image (pixels standardised as (v − 0.5) / 0.25) scaled to `side` px at (x, y) on g. */
export const drawFace = (g: CanvasRenderingContext2D, pixels: Float32Array, size: number, x: number, y: number, side: number): void => {
  const img = new ImageData(size, size)
  for (let p = 0; p < size * size; p++) {
    const v = Math.max(0, Math.min(255, Math.round((pixels[p] * 0.25 + 0.5) * 255)))
    img.data.set([v, v, v, 255], p * 4)
  }
  const tmp = new OffscreenCanvas(size, size)
  tmp.getContext('2d')!.putImageData(img, 0, 0)
  g.imageSmoothingEnabled = true
  g.drawImage(tmp, x, y, side, side)
}

/** 68 landmarks ([136] in [0, 1] of the image side) as dots on a tile at (x, y) of `side` px. */
export const drawLandmarks = (
  g: CanvasRenderingContext2D,
  lm: ArrayLike<number>,
  x: number,
  y: number,
  side: number,
  color: string,
): void => {
  g.fillStyle = color
  for (let j = 0; j < 68; j++) g.fillRect(x + lm[2 * j] * side - 1.5, y + lm[2 * j + 1] * side - 1.5, 3, 3)
}

export { prepare }
