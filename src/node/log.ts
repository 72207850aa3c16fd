/**
 * Node sinks for the training loop: a JSONL file appended one line per record, a live bar on a TTY and, when
 * output is piped (CI, `| tee`, nohup), a plain progress line every ~10 s so a long run never looks hung.
 */
import { appendFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { makeDirs } from './run-dir.ts'
import { formatDuration, type ProgressInfo } from '../train/loop.ts'

/**
 * A `FitConfig.log` sink appending each record as one JSON line to `path` (with an ISO timestamp). The folder
 * is created and the file opened for appending at once, so a bad path fails before training, not after it.
 */
export const jsonlLog = (path: string): ((record: object) => void) => {
  try {
    makeDirs(dirname(resolve(path)))
    appendFileSync(path, '')
  } catch (e) {
    throw new Error(`jsonlLog: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  return (record) => appendFileSync(path, `${JSON.stringify({ ...record, time: new Date().toISOString() })}\n`)
}

/** A `FitConfig.progress` sink redrawing one line on stderr, or undefined when stderr is not a TTY. */
export const ttyProgress = (): ((line: string) => void) | undefined =>
  process.stderr.isTTY ? (line: string) => process.stderr.write(line ? `\r${line}` : '\r\x1b[K') : undefined

/** `laf: epoch 2/6, step 37/64, 3.1 steps/s, ETA 1m10s, loss=0.8123` */
export const formatFitProgress = (p: ProgressInfo): string =>
  `${p.label ? `${p.label}: ` : ''}epoch ${p.epoch}/${p.epochs}, step ${p.batch}${p.batches ? `/${p.batches}` : ''}, ` +
  `${p.rate.toFixed(p.rate < 10 ? 2 : 1)} steps/s${p.eta === undefined ? '' : `, ETA ${formatDuration(p.eta)}`}` +
  Object.entries(p.metrics)
    .map(([k, v]) => `, ${k}=${v.toPrecision(4)}`)
    .join('')

/**
 * A `FitConfig.progress` sink for any stderr: the redrawn bar on a TTY, otherwise one `formatFitProgress` line
 * at most every `intervalMs` (default 10 s). `write` and `isTTY` are for tests.
 */
export const progressSink = (
  opts: { intervalMs?: number; write?: (s: string) => void; isTTY?: boolean; now?: () => number } = {},
): ((line: string, info?: ProgressInfo) => void) => {
  const write = opts.write ?? ((s: string) => process.stderr.write(s))
  const now = opts.now ?? (() => Date.now())
  if (opts.isTTY ?? process.stderr.isTTY) return (line) => write(line ? `\r${line}` : '\r\x1b[K')
  const every = opts.intervalMs ?? 10_000
  let last = now()
  return (_line, info) => {
    if (!info || now() - last < every) return
    last = now()
    write(`${formatFitProgress(info)}\n`)
  }
}

/**
 * Progress of work outside the training loop (data generation, evaluation): returns `tick(done)`. On a TTY it
 * redraws `what: done/total`; piped, it prints a line at most every `intervalMs` and once at the end.
 */
export const progressTicker = (
  what: string,
  total: number,
  opts: { intervalMs?: number; write?: (s: string) => void; isTTY?: boolean; now?: () => number } = {},
): ((done: number) => void) => {
  const write = opts.write ?? ((s: string) => process.stderr.write(s))
  const now = opts.now ?? (() => Date.now())
  const tty = opts.isTTY ?? process.stderr.isTTY
  const t0 = now()
  let last = t0
  return (done) => {
    const t = now()
    const end = done >= total
    if (tty) {
      write(end ? '\r\x1b[K' : `\r${what}: ${done}/${total}`)
      return
    }
    if (!end && t - last < (opts.intervalMs ?? 10_000)) return
    last = t
    const secs = (t - t0) / 1000
    const eta = done > 0 && !end ? `, ETA ${formatDuration(((total - done) * secs) / done)}` : ''
    write(`${what}: ${done}/${total} (${formatDuration(secs)}${eta})\n`)
  }
}

/** A `RunOptions.onPhase` sink: one `progressTicker` per phase (data generation, evaluation), redrawn on a TTY, else a line every ~10 s. */
export const phaseProgress = (opts: Parameters<typeof progressTicker>[2] = {}): ((what: string, done: number, total: number) => void) => {
  let current: { what: string; tick: (done: number) => void } | undefined
  return (what, done, total) => {
    if (current?.what !== what) current = { what, tick: progressTicker(what, total, opts) }
    current.tick(done)
  }
}
