/** Node sinks for the training loop: a JSONL file appended one line per record, and a live line on a TTY. */
import { appendFileSync } from 'node:fs'

/** A `FitConfig.log` sink appending each record as one JSON line to `path` (with an ISO timestamp). */
export const jsonlLog =
  (path: string) =>
  (record: Readonly<Record<string, unknown>>): void =>
    appendFileSync(path, `${JSON.stringify({ ...record, time: new Date().toISOString() })}\n`)

/** A `FitConfig.progress` sink redrawing one line on stderr, or undefined when stderr is not a TTY. */
export const ttyProgress = (): ((line: string) => void) | undefined =>
  process.stderr.isTTY ? (line: string) => process.stderr.write(line ? `\r${line}` : '\r\x1b[K') : undefined
