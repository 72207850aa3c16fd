/** Small helpers shared by the benches: wall-clock timing of async runs and a text table. */

/** Best wall time (ms) of `reps` calls after `warm` untimed ones (the first compiles kernels); the minimum is the least noisy estimate on a shared machine. */
export const timeIt = async (f: () => Promise<unknown>, reps = 3, warm = 1): Promise<number> => {
  for (let i = 0; i < warm; i++) await f()
  const ts: number[] = []
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    await f()
    ts.push(performance.now() - t0)
  }
  return Math.min(...ts)
}

/** Renders rows as a Markdown table (first row = header). */
export const table = (rows: readonly (readonly string[])[]): string => {
  const [head, ...body] = rows
  const line = (r: readonly string[]) => `| ${r.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n')
}

/** Parses `--name value` / `--flag` command-line options. */
export const args = (argv: readonly string[]): Record<string, string | true> => {
  const out: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) continue
    const next = argv[i + 1]
    const hasValue = next !== undefined && !next.startsWith('--')
    out[a.slice(2)] = hasValue ? next : true
    if (hasValue) i++
  }
  return out
}

export const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))

/** Ends the process (exit code 3) after `limitS` seconds, so a slow or stuck device run still ends inside its command limit. */
export const watchdog = (limitS: number): void => {
  setTimeout(() => {
    console.log(`\nwatchdog: stopping after ${limitS} s (--limit)`)
    process.exit(3)
  }, limitS * 1000).unref()
}
