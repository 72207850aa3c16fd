/**
 * A small SVG chart module for the paper reports: grouped bars with error bars, lines, scatter plots and a
 * heat map. Each function returns a complete, standalone SVG document (no scripts, no external references).
 */

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']
/** The i-th series colour. */
export const colour = (i: number): string => PALETTE[i % PALETTE.length]

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const num = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0')

const W = 640
const H = 400
const M = { l: 64, r: 150, t: 40, b: 90 }

const doc = (body: string[], w = W, h = H): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">\n<rect width="${w}" height="${h}" fill="white"/>\n${body.join('\n')}\n</svg>\n`

const text = (x: number, y: number, s: string, attrs = ''): string => `<text x="${num(x)}" y="${num(y)}" ${attrs}>${esc(s)}</text>`

/** Rounded tick values covering [lo, hi]. */
const ticks = (lo: number, hi: number, n = 5): number[] => {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step)
  return out
}

const fmtTick = (v: number): string =>
  Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3)))

interface Frame {
  readonly x: (v: number) => number
  readonly y: (v: number) => number
  readonly parts: string[]
}

const frame = (title: string, xLabel: string, yLabel: string, xr: [number, number], yr: [number, number], xTicks = true): Frame => {
  const pw = W - M.l - M.r
  const ph = H - M.t - M.b
  const x = (v: number) => M.l + ((v - xr[0]) / (xr[1] - xr[0] || 1)) * pw
  const y = (v: number) => M.t + ph - ((v - yr[0]) / (yr[1] - yr[0] || 1)) * ph
  const parts = [
    text(W / 2 - M.r / 2 + M.l / 2, 22, title, 'text-anchor="middle" font-size="14" font-weight="bold"'),
    `<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
  ]
  for (const t of ticks(yr[0], yr[1]))
    parts.push(
      `<line x1="${M.l}" x2="${M.l + pw}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#ddd"/>`,
      text(M.l - 6, y(t) + 4, fmtTick(t), 'text-anchor="end"'),
    )
  if (xTicks) for (const t of ticks(xr[0], xr[1])) parts.push(text(x(t), M.t + ph + 16, fmtTick(t), 'text-anchor="middle"'))
  parts.push(text(M.l + pw / 2, H - 16, xLabel, 'text-anchor="middle"'))
  parts.push(text(16, M.t + ph / 2, yLabel, `text-anchor="middle" transform="rotate(-90 16 ${num(M.t + ph / 2)})"`))
  return { x, y, parts }
}

const legend = (names: readonly string[]): string[] =>
  names.flatMap((n, i) => [
    `<rect x="${W - M.r + 12}" y="${M.t + 4 + i * 18}" width="12" height="12" fill="${colour(i)}"/>`,
    text(W - M.r + 30, M.t + 14 + i * 18, n),
  ])

const extent = (vs: readonly number[], pad = 0.05, zero = false): [number, number] => {
  const f = vs.filter(Number.isFinite)
  let lo = f.length ? Math.min(...f) : 0
  let hi = f.length ? Math.max(...f) : 1
  if (zero) lo = Math.min(0, lo)
  if (hi === lo) hi = lo + 1
  const p = (hi - lo) * pad
  return [zero && lo === 0 ? 0 : lo - p, hi + p]
}

export interface BarSeries {
  readonly name: string
  readonly values: readonly number[]
  /** Half-widths of error bars (e.g. 95% intervals), NaN for none. */
  readonly errors?: readonly number[]
}

/** Grouped bars: one group per label, one bar per series, optional error bars. */
export const barChart = (o: {
  title: string
  labels: readonly string[]
  series: readonly BarSeries[]
  yLabel: string
  xLabel?: string
}): string => {
  const all = o.series.flatMap((s) => s.values.flatMap((v, i) => [v, v + (s.errors?.[i] ?? 0), v - (s.errors?.[i] ?? 0)]))
  const f = frame(o.title, o.xLabel ?? '', o.yLabel, [0, o.labels.length], extent(all, 0.08, true), false)
  const gw = (W - M.l - M.r) / Math.max(1, o.labels.length)
  const bw = (0.8 * gw) / Math.max(1, o.series.length)
  o.labels.forEach((lab, g) => {
    const x0 = M.l + g * gw + 0.1 * gw
    f.parts.push(
      text(
        M.l + (g + 0.5) * gw,
        H - M.b + 16,
        lab,
        `text-anchor="end" transform="rotate(-30 ${num(M.l + (g + 0.5) * gw)} ${H - M.b + 16})"`,
      ),
    )
    o.series.forEach((s, i) => {
      const v = s.values[g]
      if (!Number.isFinite(v)) return
      const top = f.y(Math.max(v, 0))
      const base = f.y(0)
      const x = x0 + i * bw
      f.parts.push(
        `<rect x="${num(x)}" y="${num(Math.min(top, base))}" width="${num(bw * 0.9)}" height="${num(Math.abs(base - top))}" fill="${colour(i)}"/>`,
      )
      const e = s.errors?.[g]
      if (e !== undefined && Number.isFinite(e)) {
        const cx = x + bw * 0.45
        f.parts.push(`<line x1="${num(cx)}" x2="${num(cx)}" y1="${num(f.y(v - e))}" y2="${num(f.y(v + e))}" stroke="black"/>`)
      }
    })
  })
  if (o.series.length > 1) f.parts.push(...legend(o.series.map((s) => s.name)))
  return doc(f.parts)
}

export interface LineSeries {
  readonly name: string
  readonly xs: readonly number[]
  readonly ys: readonly number[]
}

/** Lines with point markers. */
export const lineChart = (o: {
  title: string
  xLabel: string
  yLabel: string
  series: readonly LineSeries[]
  yRange?: [number, number]
}): string => {
  const f = frame(
    o.title,
    o.xLabel,
    o.yLabel,
    extent(
      o.series.flatMap((s) => s.xs),
      0.02,
    ),
    o.yRange ?? extent(o.series.flatMap((s) => s.ys)),
  )
  o.series.forEach((s, i) => {
    const pts = s.xs.map((x, j) => `${num(f.x(x))},${num(f.y(s.ys[j]))}`).join(' ')
    f.parts.push(`<polyline points="${pts}" fill="none" stroke="${colour(i)}" stroke-width="2"/>`)
    if (s.xs.length <= 40)
      for (const [j, x] of s.xs.entries()) f.parts.push(`<circle cx="${num(f.x(x))}" cy="${num(f.y(s.ys[j]))}" r="3" fill="${colour(i)}"/>`)
  })
  f.parts.push(...legend(o.series.map((s) => s.name)))
  return doc(f.parts)
}

/** A 2-D scatter plot, one colour per group. */
export const scatterPlot = (o: {
  title: string
  xLabel: string
  yLabel: string
  groups: readonly { name: string; points: readonly (readonly [number, number])[] }[]
}): string => {
  const pts = o.groups.flatMap((g) => g.points)
  const f = frame(o.title, o.xLabel, o.yLabel, extent(pts.map((p) => p[0])), extent(pts.map((p) => p[1])))
  o.groups.forEach((g, i) => {
    for (const [x, y] of g.points)
      f.parts.push(`<circle cx="${num(f.x(x))}" cy="${num(f.y(y))}" r="2.5" fill="${colour(i)}" fill-opacity="0.6"/>`)
  })
  f.parts.push(...legend(o.groups.map((g) => g.name)))
  return doc(f.parts)
}

/** A heat map (e.g. a row-normalised confusion matrix), cells labelled with their value. */
export const heatmap = (o: {
  title: string
  rowLabels: readonly string[]
  colLabels: readonly string[]
  values: readonly (readonly number[])[]
  xLabel: string
  yLabel: string
}): string => {
  const n = o.rowLabels.length
  const m = o.colLabels.length
  const cell = Math.min(36, Math.floor(420 / Math.max(n, m)))
  const left = 110
  const top = 50
  const w = left + m * cell + 30
  const h = top + n * cell + 100
  const vmax = Math.max(1e-9, ...o.values.flat().filter(Number.isFinite))
  const parts = [text(w / 2, 24, o.title, 'text-anchor="middle" font-size="14" font-weight="bold"')]
  o.values.forEach((row, i) => {
    parts.push(text(left - 6, top + i * cell + cell / 2 + 4, o.rowLabels[i], 'text-anchor="end" font-size="10"'))
    row.forEach((v, j) => {
      const a = Number.isFinite(v) ? v / vmax : 0
      const shade = Math.round(255 * (1 - a))
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#eee"/>`,
      )
      if (cell >= 20 && Number.isFinite(v))
        parts.push(
          text(
            left + j * cell + cell / 2,
            top + i * cell + cell / 2 + 3,
            v.toFixed(2).replace(/^0/, ''),
            `text-anchor="middle" font-size="8" fill="${a > 0.6 ? 'white' : 'black'}"`,
          ),
        )
    })
  })
  o.colLabels.forEach((c, j) => {
    const x = left + j * cell + cell / 2
    const y = top + n * cell + 8
    parts.push(text(x, y, c, `text-anchor="end" font-size="10" transform="rotate(-60 ${x} ${y})"`))
  })
  parts.push(text(left + (m * cell) / 2, h - 8, o.xLabel, 'text-anchor="middle"'))
  parts.push(text(14, top + (n * cell) / 2, o.yLabel, `text-anchor="middle" transform="rotate(-90 14 ${num(top + (n * cell) / 2)})"`))
  return doc(parts, w, h)
}
