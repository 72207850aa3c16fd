/** 2-D embeddings of pooled features for Fig. 3c (PCA), and a domain-separation score to compare them. */
import { symEigh } from '../../tensor/eigh.ts'

/** Projects rows [N][F] onto their top two principal axes: [N][2] (centred on the pooled mean). */
export const pca2 = (rows: readonly (readonly number[])[]): [number, number][] => {
  const n = rows.length
  if (n < 2) throw new RangeError(`pca2: needs at least 2 rows, got ${n}`)
  const f = rows[0].length
  const mean = new Float64Array(f)
  for (const r of rows) for (let j = 0; j < f; j++) mean[j] += r[j] / n
  const cov = new Float64Array(f * f)
  for (const r of rows)
    for (let i = 0; i < f; i++) {
      const a = r[i] - mean[i]
      for (let j = i; j < f; j++) cov[i * f + j] += (a * (r[j] - mean[j])) / (n - 1)
    }
  for (let i = 0; i < f; i++) for (let j = 0; j < i; j++) cov[i * f + j] = cov[j * f + i]
  const { values, vectors } = symEigh(cov, f)
  const order = Array.from(values, (_, i) => i).sort((a, b) => values[b] - values[a])
  const axis = (c: number) => Array.from({ length: f }, (_, r) => vectors[r * f + order[c]])
  const [u, v] = [axis(0), axis(1)]
  return rows.map((r) => {
    let x = 0
    let y = 0
    for (let j = 0; j < f; j++) {
      x += (r[j] - mean[j]) * u[j]
      y += (r[j] - mean[j]) * v[j]
    }
    return [x, y]
  })
}

/**
 * How far apart two groups of feature rows are: distance between the group means over the pooled RMS spread
 * (a multivariate d′). 0 = same mean; the paper's claim is that ADA lowers it for the two tasks' test sets.
 */
export const separation = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number => {
  const f = a[0]?.length ?? 0
  const mean = (g: readonly (readonly number[])[]) => Array.from({ length: f }, (_, j) => g.reduce((s, r) => s + r[j], 0) / g.length)
  const ma = mean(a)
  const mb = mean(b)
  let ss = 0
  for (const [g, m] of [
    [a, ma],
    [b, mb],
  ] as const)
    for (const r of g) for (let j = 0; j < f; j++) ss += (r[j] - m[j]) ** 2
  const spread = Math.sqrt(ss / (a.length + b.length))
  const d = Math.sqrt(ma.reduce((s, v, j) => s + (v - mb[j]) ** 2, 0))
  return spread > 0 ? d / spread : Number.NaN
}
