/**
 * Writing experiment reports: each file atomically (temp file in the same directory, fsync, rename, fsync the
 * directory), SVG figures also rendered to PNG with resvg, and a writability check to run before any training.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Resvg } from '@resvg/resvg-js'
import type { Report } from '../experiments/paper/common.ts'

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

/** Writes `dir/report.md`, `dir/results.json` and every figure as `dir/<stem>.svg` and `.png`; returns the paths. */
export const writeReport = (dir: string, r: Report): string[] => {
  mkdirSync(dir, { recursive: true })
  const paths: string[] = []
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(dir, name)
    writeFileAtomic(p, data)
    paths.push(p)
  }
  for (const [stem, svg] of Object.entries(r.figures)) {
    put(`${stem}.svg`, svg)
    put(`${stem}.png`, svgToPng(svg))
  }
  put(
    'results.json',
    `${JSON.stringify({ name: r.name, seconds: r.seconds, ...r.results }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`,
  )
  put('report.md', `${r.markdown}\n_Experiment time: ${r.seconds.toFixed(0)} s._\n`)
  return paths
}
