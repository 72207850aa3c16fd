/** 2-D embeddings of pooled features for Fig. 3c (PCA, t-SNE), and a domain-separation score to compare them. */
import { compile } from '../autodiff/compile.ts'
import { valueAndGrad } from '../autodiff/vjp.ts'
import type { Backend } from '../backend/backend.ts'
import type { Tensor } from '../graph/graph.ts'
import { add, exp, log, maximum, mul, neg, sub } from '../ops/elementwise.ts'
import { matmul } from '../ops/matmul.ts'
import { sum } from '../ops/reduce.ts'
import { reshape } from '../ops/shape.ts'
import { symEigh } from '../tensor/eigh.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'

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

/** Settings of `tsne2` (defaults follow van der Maaten & Hinton 2008 and Kobak & Berens 2019). */
export interface TsneOptions {
  /** Effective number of neighbours (default 30, capped at (N − 1)/3). */
  readonly perplexity?: number
  /** Gradient steps (default 750: 250 with early exaggeration 12, then the rest without). */
  readonly iterations?: number
}

/**
 * The input affinities P (N × N, symmetric, sums to 1): per row a Gaussian over squared distances whose precision
 * is found by bisection so the row's perplexity is `perp`, then (P + Pᵀ)/(2N). Float64 on the host.
 */
export const tsneAffinities = (rows: readonly (readonly number[])[], perp: number): Float64Array => {
  const n = rows.length
  const d2 = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0
      for (let k = 0; k < rows[i].length; k++) s += (rows[i][k] - rows[j][k]) ** 2
      d2[i * n + j] = d2[j * n + i] = s
    }
  const target = Math.log(perp)
  const cond = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    let lo = 0
    let hi = Number.POSITIVE_INFINITY
    let beta = 1
    // shift by the nearest neighbour's distance so exp never underflows to an all-zero row
    let dmin = Number.POSITIVE_INFINITY
    for (let j = 0; j < n; j++) if (j !== i) dmin = Math.min(dmin, d2[i * n + j])
    for (let it = 0; it < 100; it++) {
      let z = 0
      let zd = 0
      for (let j = 0; j < n; j++) {
        if (j === i) continue
        const e = Math.exp(-beta * (d2[i * n + j] - dmin))
        cond[i * n + j] = e
        z += e
        zd += e * (d2[i * n + j] - dmin)
      }
      const entropy = Math.log(z) + (beta * zd) / z
      for (let j = 0; j < n; j++) cond[i * n + j] /= z
      if (Math.abs(entropy - target) < 1e-6) break
      if (entropy > target) {
        lo = beta
        beta = hi === Number.POSITIVE_INFINITY ? beta * 2 : (beta + hi) / 2
      } else {
        hi = beta
        beta = (beta + lo) / 2
      }
    }
  }
  const p = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) p[i * n + j] = (cond[i * n + j] + cond[j * n + i]) / (2 * n)
  return p
}

/**
 * t-SNE of rows [N][F] to 2-D, [N][2]. The KL(P‖Q) gradient comes from softshare's autodiff on `backend` (one
 * compiled graph: Student-t affinities of the embedding and the loss Σ αP·log(1 + d²) + log Σ_{i≠j} (1 + d²)⁻¹, whose
 * gradient is t-SNE's); P, the PCA start (scaled to standard deviation 1e-4) and the gain/momentum updates are host
 * float64. Deterministic: no random start.
 */
export const tsne2 = async (
  rows: readonly (readonly number[])[],
  backend: Backend<any>,
  opts: TsneOptions = {},
): Promise<[number, number][]> => {
  const n = rows.length
  if (n < 4) throw new RangeError(`tsne2: needs at least 4 rows, got ${n}`)
  const perp = Math.min(opts.perplexity ?? 30, (n - 1) / 3)
  const iters = opts.iterations ?? 750
  if (!(perp > 0) || !Number.isInteger(iters) || iters < 1)
    throw new RangeError(`tsne2: expected perplexity > 0 and a positive integer iterations, got ${opts.perplexity} and ${opts.iterations}`)
  const p = fromData(tsneAffinities(rows, perp), [n, n])
  const start = pca2(rows)
  const sd = Math.sqrt(start.reduce((s, [x]) => s + x * x, 0) / n) || 1
  const y = Float64Array.from(start.flatMap(([a, b]) => [(a / sd) * 1e-4, (b / sd) * 1e-4]))
  const exaggeration = 12
  const early = Math.min(250, Math.floor(iters / 3))
  const lr = Math.max(n / exaggeration / 4, 50)
  const step = compile(
    (a: { y: HostTensor; p: HostTensor; off: HostTensor; alpha: HostTensor }) =>
      valueAndGrad((e: Tensor) => {
        // d²ᵢⱼ = |yᵢ|² + |yⱼ|² − 2 yᵢ·yⱼ: N × N tensors (an N × N × 2 difference costs twice the memory traffic)
        const sq = sum(mul(e, e), 1)
        const d2 = sub(add(reshape(sq, [n, 1]), reshape(sq, [1, n])), mul(matmul(e, e, { transB: true }), 2))
        const q = log(add(1, maximum(d2, 0)))
        // Z = Σ_{i≠j} (1 + d²)⁻¹ (the mask drops the diagonal, whose d² is only zero up to rounding)
        return add(mul(sum(mul(a.p, q)), a.alpha), log(sum(mul(exp(neg(q)), a.off))))
      })(a.y),
    { backend },
  )
  const off = fromData(
    Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 0 : 1)),
    [n, n],
  )
  const update = new Float64Array(2 * n)
  const gains = new Float64Array(2 * n).fill(1)
  for (let it = 0; it < iters; it++) {
    const alpha = fromData(new Float64Array([it < early ? exaggeration : 1]), [])
    const { grad } = (await step({ y: fromData(y, [n, 2]), p, off, alpha })) as { grad: HostTensor }
    const momentum = it < early ? 0.5 : 0.8
    for (let k = 0; k < 2 * n; k++) {
      const g = grad.data[k]
      gains[k] = Math.max(0.01, g * update[k] < 0 ? gains[k] + 0.2 : gains[k] * 0.8)
      update[k] = momentum * update[k] - lr * gains[k] * g
      y[k] += update[k]
    }
  }
  return Array.from({ length: n }, (_, i) => [y[2 * i], y[2 * i + 1]])
}
