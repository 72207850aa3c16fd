/** The grid's side of the queue: submitting runs once by id, counting states, and collecting results for the report. */
import { type Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { canonicalJson, type GridParams, type Json, type ReportRow, type RunSpec } from './library.ts'

/** The default BullMQ queue name; `--queue` picks another (e.g. one per project on a shared Redis). */
export const DEFAULT_QUEUE = 'softshare-grid'

/** A job's data: the run spec as submitted (the worker validates it again). */
export type JobData = RunSpec

/** Grid-level retry policy: a killed or crashed run gets `attempts` tries in all, spaced by exponential backoff. */
export interface RetryPolicy {
  readonly attempts: number
  readonly backoffMs: number
}

export const openQueue = (connection: Redis, name: string): Queue<JobData, Json> => new Queue<JobData, Json>(name, { connection })

/** Where the list of runs submitted for an experiment lives: a Redis hash id → spec, so `report` knows what is missing. */
const manifestKey = (queue: string, experiment: string) => `softshare:${queue}:grid:${experiment}`

/**
 * Queues every run whose id is not already known to the queue (in any state); returns what was added and what
 * was already there with its state. Submitting the same grid twice adds nothing.
 */
export const submitRuns = async (
  queue: Queue<JobData, Json>,
  connection: Redis,
  runs: readonly (RunSpec & { readonly id: string })[],
  retry: RetryPolicy,
): Promise<{ readonly added: readonly string[]; readonly existing: readonly { readonly id: string; readonly state: string }[] }> => {
  const existing: { id: string; state: string }[] = []
  const fresh: (RunSpec & { id: string })[] = []
  for (const r of runs) {
    const job = await queue.getJob(r.id)
    if (job) existing.push({ id: r.id, state: await job.getState() })
    else fresh.push(r)
  }
  const at = Date.now()
  for (const [n, r] of runs.entries())
    await connection.hsetnx(manifestKey(queue.name, r.experiment), r.id, JSON.stringify({ ...strip(r), at, n }))
  // a job id that already exists is ignored by BullMQ, so a concurrent submit of the same grid is still harmless
  await queue.addBulk(
    fresh.map((r) => ({
      name: r.experiment,
      data: strip(r),
      opts: {
        jobId: r.id,
        attempts: retry.attempts,
        backoff: { type: 'exponential', delay: retry.backoffMs },
        removeOnComplete: false,
        removeOnFail: false,
      },
    })),
  )
  return { added: fresh.map((r) => r.id), existing }
}

/** A planned experiment's grid as submitted: its parameters and retry policy, so workers can submit its later stages. */
export interface StoredPlan {
  readonly params: GridParams
  readonly retry: RetryPolicy
  readonly at: number
}

const plansKey = (queue: string, experiment: string) => `softshare:${queue}:plans:${experiment}`

/** Records (or refreshes) a planned grid of `experiment` on the queue. */
export const savePlan = async (
  connection: Redis,
  queue: string,
  experiment: string,
  params: GridParams,
  retry: RetryPolicy,
): Promise<void> => {
  await connection.hset(plansKey(queue, experiment), canonicalJson(params), JSON.stringify({ params, retry, at: Date.now() }))
}

/** The planned grids of `experiment` on the queue, oldest submission first. */
export const loadPlans = async (connection: Redis, queue: string, experiment: string): Promise<StoredPlan[]> =>
  Object.values(await connection.hgetall(plansKey(queue, experiment)))
    .map((v) => JSON.parse(v) as StoredPlan)
    .sort((a, b) => a.at - b.at)

const strip = (r: RunSpec): RunSpec => ({ experiment: r.experiment, label: r.label, config: r.config, seed: r.seed })

/** Every run submitted for `experiment`, in submission order. */
export const submittedRuns = async (
  queue: Queue<JobData, Json>,
  connection: Redis,
  experiment: string,
): Promise<(RunSpec & { id: string })[]> => {
  const all = await connection.hgetall(manifestKey(queue.name, experiment))
  return Object.entries(all)
    .map(([id, v]) => ({ id, ...(JSON.parse(v) as RunSpec & { at: number; n: number }) }))
    .sort((a, b) => a.at - b.at || a.n - b.n)
    .map(({ id, experiment, label, config, seed }) => ({ id, experiment, label, config, seed }))
}

/** One row per run: its result if completed, else why not (`failed: …`, `waiting`, `active`, `not submitted`). */
export const collectRuns = async (
  queue: Queue<JobData, Json>,
  runs: readonly (RunSpec & { readonly id: string })[],
): Promise<ReportRow[]> =>
  Promise.all(
    runs.map(async (r): Promise<ReportRow> => {
      const spec = strip(r)
      const job = await queue.getJob(r.id)
      if (!job) return { spec, id: r.id, result: undefined, missing: 'not submitted' }
      const state = await job.getState()
      if (state === 'completed') return { spec, id: r.id, result: job.returnvalue }
      return { spec, id: r.id, result: undefined, missing: state === 'failed' ? `failed: ${job.failedReason}` : state }
    }),
  )

/** What `grid status` shows. */
export interface GridStatus {
  readonly counts: Readonly<Record<string, number>>
  readonly running: readonly {
    readonly id: string
    readonly label: string
    readonly seed: number
    readonly attempt: number
    readonly progress: unknown
  }[]
  readonly failed: readonly {
    readonly id: string
    readonly label: string
    readonly seed: number
    readonly attempts: number
    readonly error: string
  }[]
}

export const gridStatus = async (queue: Queue<JobData, Json>): Promise<GridStatus> => {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed')
  const active: Job<JobData, Json>[] = await queue.getActive()
  const failed: Job<JobData, Json>[] = await queue.getFailed()
  return {
    counts,
    running: active.map((j) => ({ id: j.id!, label: j.data.label, seed: j.data.seed, attempt: j.attemptsStarted, progress: j.progress })),
    failed: failed.map((j) => ({ id: j.id!, label: j.data.label, seed: j.data.seed, attempts: j.attemptsMade, error: j.failedReason })),
  }
}

/** `grid status` as text: counts by state, then running jobs with progress, then failures with their error. */
export const formatStatus = (s: GridStatus, where: string): string => {
  const counts = Object.entries(s.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  const lines = [`${where}: ${counts}`]
  if (s.running.length > 0)
    lines.push(
      'running:',
      ...s.running.map((r) => `  ${r.id}  ${r.label} seed ${r.seed}  attempt ${r.attempt}  ${JSON.stringify(r.progress)}`),
    )
  if (s.failed.length > 0)
    lines.push('failed:', ...s.failed.map((r) => `  ${r.id}  ${r.label} seed ${r.seed}  after ${r.attempts} attempt(s): ${r.error}`))
  return lines.join('\n')
}
