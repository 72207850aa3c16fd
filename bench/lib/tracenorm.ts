/** Helpers shared by the trace-norm benches (bench/tracenorm.ts, bench/tracenorm-step.ts). */
import * as ss from '../../src/index.ts'

/**
 * Fastest of `n` runs after one warm-up (skipped for runs of seconds, where the JIT warm-up is noise), and the
 * last result. The minimum, not the median: this 2-core VM is shared with other jobs, and interference only adds time.
 */
export const timeSync = <R>(f: () => R, n: number, warm = true): { ms: number; out: R } => {
  let out = warm ? f() : (undefined as R)
  let best = Infinity
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    out = f()
    best = Math.min(best, performance.now() - t0)
  }
  return { ms: best, out }
}

export type Norm = 'laf' | 'tucker' | 'tt'

/** The three regularisers with γ = 1 on a stacked weight `[kh, kw, cin, cout, T]` → scalar. */
export const norms: Record<Norm, (w: ss.Tensor, o: ss.SvdOptions) => ss.Tensor> = {
  laf: (w, o) => ss.laf(w, 1, o),
  tucker: (w, o) => ss.tucker(w, 1, o),
  tt: (w, o) => ss.tt(w, 1, o),
}

/** Display name of a norm. */
export const normName = (n: Norm): string => (n === 'tucker' ? 'Tucker' : n.toUpperCase())

/** Seconds above 1 s, else milliseconds. */
export const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)

/** A percentage with as many decimals as its size needs. */
export const pct = (x: number): string => (x >= 10 ? `${x.toFixed(0)}%` : x >= 0.1 ? `${x.toFixed(2)}%` : `${x.toFixed(4)}%`)

/** A padded Markdown table (first row = header). */
export const padTable = (head: readonly string[], rows: readonly (readonly string[])[]): string => {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}
