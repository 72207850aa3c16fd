/**
 * Writing experiment reports: each file atomically (temp file in the same directory, fsync, rename, fsync the
 * directory), SVG figures also rendered to PNG with resvg, and a writability check to run before any training.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Resvg } from '@resvg/resvg-js'
import type { Report } from '../experiments/paper/common.ts'
import { type Claim, fmtSummary } from '../experiments/paper/stats.ts'

/** Writes `data` to `path` so that a crash leaves the old file or the new one, never a torn one. */
export const writeFileAtomic = (path: string, data: string | Uint8Array): void => {
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(tmp, path)
  } catch (e) {
    unlinkSync(tmp)
    throw e
  }
  const dfd = openSync(dirname(path), 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/** Creates `dir` and proves a file can be written there; throws `cannot write to DIR (CODE)` otherwise. */
export const checkWritable = (dir: string): void => {
  try {
    mkdirSync(dir, { recursive: true })
    const probe = join(dir, `.write-test.${process.pid}`)
    writeFileAtomic(probe, 'ok')
    unlinkSync(probe)
  } catch (e) {
    throw new Error(`cannot write to ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
}

/** An SVG document rendered to PNG bytes (white background, system fonts, `scale`× the SVG's size). */
export const svgToPng = (svg: string, scale = 2): Uint8Array =>
  new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true } }).render().asPng()

/** A report's files by name: every figure as `<stem>.svg` and `.png`, then `results.json` and `report.md`. */
export const reportFiles = (r: Report): Record<string, string | Uint8Array> => {
  const files: Record<string, string | Uint8Array> = {}
  for (const [stem, svg] of Object.entries(r.figures)) {
    files[`${stem}.svg`] = svg
    files[`${stem}.png`] = svgToPng(svg)
  }
  files['results.json'] =
    `${JSON.stringify({ name: r.name, seconds: r.seconds, ...r.results }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`
  files['report.md'] = `${r.markdown}\n_Experiment time: ${r.seconds.toFixed(0)} s._\n`
  return files
}

/** Writes `dir/report.md`, `dir/results.json` and every figure as `dir/<stem>.svg` and `.png`; returns the paths. */
export const writeReport = (dir: string, r: Report): string[] => {
  mkdirSync(dir, { recursive: true })
  return Object.entries(reportFiles(r)).map(([name, data]) => {
    const p = join(dir, name)
    writeFileAtomic(p, data)
    return p
  })
}

/**
 * Writes `dir/README.md`: one line per experiment found under `dir` (link, time) and every claim of every
 * report with its difference and verdict, read back from the results.json files (so it matches them).
 */
export const writeIndex = (dir: string, order: readonly string[]): string => {
  const lines = ['# Reports', '', '| experiment | time | claims reproduced / not reproduced / inconclusive |', '|:--|--:|:--|']
  const claimLines: string[] = []
  for (const name of order) {
    const p = join(dir, name, 'results.json')
    if (!existsSync(p)) continue
    const r = JSON.parse(readFileSync(p, 'utf8')) as { seconds: number; claims?: Claim[] }
    const cs = (r.claims ?? []).map((c) => ({
      ...c,
      diff: { mean: c.diff.mean ?? Number.NaN, half: c.diff.half ?? Number.NaN, n: c.diff.n },
    }))
    const count = (v: string) => cs.filter((c) => c.verdict === v).length
    lines.push(
      `| [${name}](${name}/report.md) | ${(r.seconds / 60).toFixed(1)} min | ${count('reproduced')} / ${count('not reproduced')} / ${count('inconclusive')} |`,
    )
    for (const c of cs) claimLines.push(`| ${name} | ${c.claim} | ${fmtSummary(c.diff, c.scale, 2)} ${c.unit} | **${c.verdict}** |`)
  }
  const text = [
    ...lines,
    '',
    '## Every claim',
    '',
    'Our paired per-seed difference (positive supports the claim) with its 95% t-interval; reproduced = the interval lies above 0.',
    '',
    '| experiment | claim (paper) | our difference | verdict |',
    '|:--|:--|--:|:--|',
    ...claimLines,
    '',
  ].join('\n')
  writeFileAtomic(join(dir, 'README.md'), text)
  return text
}
