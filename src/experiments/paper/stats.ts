/** Statistics of the paper reports: means over seeds with 95% t-intervals, and claims judged on paired differences. */

/** Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30 (beyond: the normal 1.96 with a small-df correction). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]
/** t_{0.975, df}. */
export const tQuantile975 = (df: number): number => (df < 1 ? Number.NaN : df <= 30 ? T975[df - 1] : 1.96 + 2.4 / df)

/** Mean, 95% t-interval half-width (NaN for n < 2) and n of a sample. */
export interface Summary {
  readonly mean: number
  readonly half: number
  readonly n: number
}

/** Summary of xs (NaNs dropped). */
export const summarise = (xs: readonly number[]): Summary => {
  const v = xs.filter((x) => Number.isFinite(x))
  const n = v.length
  if (n === 0) return { mean: Number.NaN, half: Number.NaN, n: 0 }
  const mean = v.reduce((a, b) => a + b, 0) / n
  if (n < 2) return { mean, half: Number.NaN, n }
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
  return { mean, half: (tQuantile975(n - 1) * sd) / Math.sqrt(n), n }
}

/** `59.8 ± 1.2 (n=3)` with `scale` applied (100 for percentages) and `digits` decimals. */
export const fmtSummary = (s: Summary, scale = 1, digits = 1): string =>
  Number.isNaN(s.mean)
    ? 'n/a'
    : `${(scale * s.mean).toFixed(digits)}${Number.isNaN(s.half) ? '' : ` ± ${(scale * s.half).toFixed(digits)}`} (n=${s.n})`

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive'

/** A paper claim `better` is better than `worse` on a metric, judged on per-seed paired differences. */
export interface Claim {
  readonly claim: string
  /** Mean paired difference (better − worse, in the metric's units, sign such that > 0 supports the claim). */
  readonly diff: Summary
  readonly verdict: Verdict
  /** How the difference is expressed (e.g. 'accuracy points', 'NME points'). */
  readonly unit: string
  readonly scale: number
}

/**
 * Judges a claim from paired per-seed values where larger `support` supports it: reproduced when the whole 95%
 * interval of the mean difference is above 0, not reproduced when it is below, inconclusive otherwise (and for
 * n < 2, where no interval exists).
 */
export const judge = (claim: string, support: readonly number[], unit: string, scale = 100): Claim => {
  const diff = summarise(support)
  const lo = diff.mean - diff.half
  const hi = diff.mean + diff.half
  const verdict: Verdict = Number.isNaN(diff.half) ? 'inconclusive' : lo > 0 ? 'reproduced' : hi < 0 ? 'not reproduced' : 'inconclusive'
  return { claim, diff, verdict, unit, scale }
}

/** Paired differences a[i] − b[i] (seeds aligned by index). */
export const paired = (a: readonly number[], b: readonly number[]): number[] => {
  if (a.length !== b.length) throw new RangeError(`paired: ${a.length} values against ${b.length}`)
  return a.map((v, i) => v - b[i])
}

/** Markdown table of claims: claim, our difference ± interval, verdict. */
export const claimTable = (cs: readonly Claim[]): string =>
  [
    '| claim (paper) | our difference (95% CI, n seeds) | verdict |',
    '|:--|--:|:--|',
    ...cs.map((c) => `| ${c.claim} | ${fmtSummary(c.diff, c.scale, 2)} ${c.unit} | **${c.verdict}** |`),
  ].join('\n')
