/** Node helpers around `runExperiment`: backends by name, config files, and progress lines that work outside a TTY. */
import { readFileSync } from 'node:fs'
import { isLeft } from 'fp-ts/lib/Either.js'
import type { Backend } from '../backend/backend.ts'
import { type BackendName, createBackend } from '../backend/select.ts'
import { decodeExperimentConfig, defaultExperiment, type ExperimentConfig } from '../experiments/config.ts'
import type { Progress } from '../experiments/run.ts'
import { formatDuration } from '../train/loop.ts'

/** The backend a config names (`cpu`, `gpu`, `auto`, `ref`). */
export const backendFor = (name: ExperimentConfig['backend']): Promise<Backend<any>> => createBackend(name as BackendName)

/** Reads and validates a JSON experiment config over `base`; Left-style: `{ ok: false, errors }` with one line per problem. */
export const readExperimentConfig = (
  path: string,
  base: ExperimentConfig = defaultExperiment,
): { ok: true; config: ExperimentConfig } | { ok: false; errors: string[] } => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    return { ok: false, errors: [`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`] }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { ok: false, errors: [`${path}: not JSON (${(e as Error).message})`] }
  }
  const r = decodeExperimentConfig(json, base)
  return isLeft(r) ? { ok: false, errors: r.left.map((m) => `${path}: ${m}`) } : { ok: true, config: r.right }
}

/** `[table4 3/15] laf+ada epoch 2/4 step 17/32 loss=1.234 · 1m12s elapsed, ETA 4m40s` */
export const formatRunProgress = (p: Progress, prefix = ''): string =>
  `${prefix ? `[${prefix}] ` : ''}run ${p.runIndex + 1}/${p.runs} ${p.run} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} ` +
  `loss=${(p.metrics.loss ?? Number.NaN).toFixed(3)} · ${formatDuration(p.elapsedSeconds)} elapsed, ETA ${formatDuration(p.etaSeconds)}`

/**
 * A progress sink writing a line to `write` at most every `everySeconds` (and at the end of every run): plain
 * lines, so logs of non-TTY runs (nohup, CI) show progress too. The optional second argument prefixes the line.
 */
export const progressLines = (
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  everySeconds = 5,
): ((p: Progress, prefix?: string) => void) => {
  let last = -Infinity
  return (p, prefix = '') => {
    const now = performance.now() / 1000
    const end = p.step === p.steps && p.epoch === p.epochs
    if (now - last < everySeconds && !end) return
    last = now
    write(formatRunProgress(p, prefix))
  }
}
