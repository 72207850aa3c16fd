/**
 * Running runs: `runOne` (one run in its directory, skipped when already finished), the BullMQ worker around it,
 * and `runLocal`, the same runs one after another on one machine (the reference a grid's report must equal).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { type Job, UnrecoverableError, Worker } from 'bullmq'
import { writeFileAtomic } from '../report.ts'
import { GridError, isPlanned, settlePlan } from './expand.ts'
import { type GridLibrary, type GridParams, type Json, type ReportRow, RunFailed, type RunSpec, runId } from './library.ts'
import { collectRuns, type JobData, loadPlans, openQueue, submitRuns } from './queue.ts'
import { openRedis, showUrl, waitForRedis } from './redis.ts'

/** The directory of run `id` under the shared output directory. */
export const runDir = (out: string, id: string): string => join(out, 'runs', id)

/** The run's history (`start`, `done`), one JSON line per event, appended by whichever worker holds it. */
export const EVENTS_FILE = 'grid-events.jsonl'
/** Written atomically when the run has finished: its result. Its presence means "never run this again". */
export const RESULT_FILE = 'result.json'

const event = (dir: string, e: Record<string, Json>): void =>
  appendFileSync(join(dir, EVENTS_FILE), `${JSON.stringify({ ...e, pid: process.pid, host: hostname(), at: new Date().toISOString() })}\n`)

/**
 * Runs one run in `out/runs/<id>/`, resuming there (the library reads its own checkpoints). A run whose
 * result file exists returns that result without running (its worker died between finishing and telling Redis).
 */
export const runOne = async (
  lib: GridLibrary,
  spec: RunSpec,
  out: string,
  ctx: {
    readonly progress: (p: Json) => Promise<void>
    readonly attempt?: number
    readonly backend?: string
    readonly log?: (line: string) => void
  },
): Promise<Json> => {
  const attempt = ctx.attempt ?? 1
  const checked = lib.validate(spec.experiment, spec.config)
  if (!checked.ok) throw new RunFailed(`run "${spec.label}" seed ${spec.seed}: bad config: ${checked.error}`)
  const id = runId({ ...spec, config: checked.config })
  const dir = runDir(out, id)
  const done = join(dir, RESULT_FILE)
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as Json
  mkdirSync(dir, { recursive: true })
  event(dir, { event: 'start', attempt })
  const result = await lib.run({ ...spec, config: checked.config }, { dir, progress: ctx.progress, backend: ctx.backend, log: ctx.log })
  writeFileAtomic(done, `${JSON.stringify(result)}\n`)
  event(dir, { event: 'done', attempt })
  return result
}

/** The same runs one after another in this process, and their report rows: what one machine would produce. */
export const runLocal = async (
  lib: GridLibrary,
  runs: readonly (RunSpec & { readonly id: string })[],
  out: string,
  backend?: string,
): Promise<ReportRow[]> => {
  const rows: ReportRow[] = []
  for (const r of runs) {
    const spec = { experiment: r.experiment, label: r.label, config: r.config, seed: r.seed }
    rows.push({ spec, id: r.id, result: await runOne(lib, spec, out, { progress: async () => {}, backend }) })
  }
  return rows
}

/** A planned experiment on this machine: each stage's runs in plan order (finished ones skipped), until the plan stops growing. */
export const runPlannedLocal = (lib: GridLibrary, experiment: string, params: GridParams, out: string, backend?: string) =>
  settlePlan(lib, experiment, params, (runs) => runLocal(lib, runs, out, backend))

/** Writes a report's files under `out/<experiment>/`, each atomically; returns their paths. */
export const writeReportFiles = (out: string, experiment: string, files: Readonly<Record<string, string | Uint8Array>>): string[] =>
  Object.entries(files).map(([name, data]) => {
    const path = join(out, experiment, name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileAtomic(path, data)
    return path
  })

export interface WorkerOptions {
  readonly url: string
  readonly queue: string
  readonly out: string
  readonly concurrency: number
  readonly backend?: string
  /** How long a job's lock lives without renewal: a killed worker's job is taken over after about this long. */
  readonly lockMs: number
  /** How often this worker looks for stalled jobs (killed workers' jobs) to take over. */
  readonly stalledMs: number
  /** How many times a run may be taken over from a dead worker before it is marked failed. */
  readonly maxStalled: number
  readonly backoff: { readonly base: number; readonly max: number }
  readonly log: (line: string) => void
}

/** Waits for Redis (retrying with backoff, each failure logged with the URL), then takes and runs jobs until closed. */
export const startWorker = async (lib: GridLibrary, o: WorkerOptions): Promise<{ readonly close: (force?: boolean) => Promise<void> }> => {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    throw new GridError(`grid worker: --concurrency must be a positive integer, got ${o.concurrency}`)
  await waitForRedis(o.url, o.log, o.backoff)
  const connection = openRedis(o.url, o.log, o.backoff)
  const processor = async (job: Job<JobData, Json>): Promise<Json> => {
    o.log(`start ${job.id} ${job.data.label} seed ${job.data.seed} (attempt ${job.attemptsStarted})`)
    try {
      return await runOne(lib, job.data, o.out, {
        progress: (p) => job.updateProgress(p as object),
        attempt: job.attemptsStarted,
        backend: o.backend,
        log: o.log,
      })
    } catch (e) {
      // deterministic failures would fail again: mark failed now instead of spending every attempt
      if (e instanceof RunFailed || e instanceof GridError) throw new UnrecoverableError(e.message)
      throw e
    }
  }
  const worker = new Worker<JobData, Json>(o.queue, processor, {
    connection,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.stalledMs,
    maxStalledCount: o.maxStalled,
  })
  // a finished run may be the last input of a planned experiment's next stage: submit what can now be named
  const queue = openQueue(connection, o.queue)
  let planning = Promise.resolve()
  const planNext = (experiment: string) => {
    planning = planning
      .then(async () => {
        for (const p of await loadPlans(connection, o.queue, experiment)) {
          const { runs } = await settlePlan(lib, experiment, p.params, (r) => collectRuns(queue, r))
          const r = await submitRuns(queue, connection, runs, p.retry)
          if (r.added.length > 0) o.log(`submitted ${r.added.length} run(s) of ${experiment} planned from finished results`)
        }
      })
      .catch((e: Error) => o.log(`planning the next runs of ${experiment} failed (a later finish or submit retries): ${e.message}`))
  }
  worker.on('completed', (job) => {
    o.log(`done ${job.id} ${job.data.label} seed ${job.data.seed}`)
    if (isPlanned(lib, job.data.experiment)) planNext(job.data.experiment)
  })
  worker.on('failed', (job, err) => o.log(`failed ${job?.id} ${job?.data.label ?? ''} (attempt ${job?.attemptsMade}): ${err.message}`))
  worker.on('stalled', (id) => o.log(`took over stalled job ${id} (its worker stopped renewing the lock)`))
  worker.on('error', (err) => o.log(`worker error (Redis ${showUrl(o.url)}): ${err.message}`))
  o.log(`worker on queue "${o.queue}" at ${showUrl(o.url)}, concurrency ${o.concurrency}, output ${o.out}`)
  return {
    close: async (force = false) => {
      await worker.close(force)
      await planning
      await queue.close()
      connection.disconnect()
    },
  }
}
