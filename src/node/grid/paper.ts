/**
 * softshare's experiments as a grid library: one job = one run (a sharing scheme, ±ADA) of a validated
 * `ExperimentConfig` at one seed, trained by `runExperiment`. The paper experiments (`table4`, `table6`, `fig3`) are planned:
 * their runs and report are the two halves `npm run paper` uses, so `grid report` writes the files that command writes.
 * `quickstart` is a plain grid whose report is a table of means over seeds with 95% intervals.
 */
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, join } from 'node:path'
import { isLeft } from 'fp-ts/lib/Either.js'
import { decodeExperimentConfig, type ExperimentConfig, type RunKind, sharingKinds } from '../../experiments/config.ts'
import { type PaperPresetName, paperPresets } from '../../experiments/paper/common.ts'
import { decodeResult, encodeResult, type PlanContext, type PlannedExperiment, type RunRequest } from '../../experiments/paper/plan.ts'
import { fig3Plan } from '../../experiments/paper/fig3.ts'
import { table4Plan } from '../../experiments/paper/table4.ts'
import { table6Plan } from '../../experiments/paper/table6.ts'
import { type RecordOptions, type RunResult, runExperiment } from '../../experiments/run.ts'
import { backendFor } from '../experiments.ts'
import { reportFiles } from '../report.ts'
import { fitRun, listCheckpoints } from '../run-dir.ts'
import { type GridLibrary, type GridParams, type Json, type ReportRow, RunFailed, type RunSpec, runId } from './library.ts'

/** The runs of each plain grid experiment: `quickstart` (single, LAF, LAF+ADA) and `schemes` (every sharing scheme, ±ADA). */
export const gridExperiments: Readonly<Record<string, readonly RunKind[]>> = {
  quickstart: ['single', 'laf', 'laf+ada'],
  schemes: sharingKinds.flatMap((s): RunKind[] => [s, `${s}+ada`]),
}

/** The paper experiments the grid runs stage by stage with `npm run paper`'s own two halves. */
export const plannedExperiments: Readonly<Record<string, PlannedExperiment>> = { table4: table4Plan, table6: table6Plan, fig3: fig3Plan }

/** `--preset`, `--seeds` (a count: seeds 0…N−1; default the preset's) and `--sweep domain-shift` as `npm run paper` takes them. */
const planContext = (params: GridParams): PlanContext => {
  const name = params.preset ?? 'default'
  const preset = (paperPresets as Readonly<Record<string, PlanContext['preset'] | undefined>>)[name]
  if (!preset) throw new Error(`unknown preset "${name}"; expected ${Object.keys(paperPresets).join(', ')}`)
  const seeds = params.seeds ?? seedsOf(preset.name)
  if (seeds.some((s, i) => s !== i))
    throw new Error(`--seeds: the paper experiments run seeds 0…N−1, give a count N; got ${seeds.join(',')}`)
  for (const w of params.sweeps) if (w !== 'domain-shift') throw new Error(`--sweep: the paper experiments take "domain-shift", got "${w}"`)
  return { preset, seeds: seeds.length, ...(params.sweeps.includes('domain-shift') ? { sweep: 'domain-shift' as const } : {}) }
}
const seedsOf = (p: PaperPresetName): number[] => Array.from({ length: paperPresets[p].seeds }, (_, i) => i)

const recordKeys: Readonly<Record<string, 'boolean' | 'count'>> = {
  perImage: 'boolean',
  features: 'count',
  tsne: 'boolean',
  traceNormsPerEpoch: 'boolean',
}

/** A planned run's job config `{ run: ExperimentConfig with one run kind, record?: RecordOptions }`, checked. */
const validatePlanned = (raw: unknown): { ok: true; config: Json } | { ok: false; error: string } => {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, error: 'expected { run, record? }' }
  const { run, record, ...rest } = raw as { run?: unknown; record?: unknown }
  const extra = Object.keys(rest)
  if (extra.length > 0) return { ok: false, error: `${extra[0]}: unknown field (expected run, record)` }
  const c = decodeExperimentConfig(run)
  if (isLeft(c)) return { ok: false, error: `run.${c.left.join('; run.')}` }
  if (c.right.runs.length !== 1) return { ok: false, error: `run.runs: a grid job trains exactly one run, got ${c.right.runs.length}` }
  if (record !== undefined) {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return { ok: false, error: 'record: expected an object' }
    for (const [k, v] of Object.entries(record)) {
      const kind = recordKeys[k]
      if (kind === undefined) return { ok: false, error: `record.${k}: unknown field (known: ${Object.keys(recordKeys).join(', ')})` }
      if (kind === 'boolean' ? typeof v !== 'boolean' : !Number.isInteger(v) || (v as number) < 0)
        return {
          ok: false,
          error: `record.${k}: expected ${kind === 'boolean' ? 'true or false' : 'an integer ≥ 0'}, got ${JSON.stringify(v)}`,
        }
    }
  }
  return { ok: true, config: { run: c.right, ...(record !== undefined ? { record } : {}) } as unknown as Json }
}

/** A request as a job: label `kind (tag)`, config `{ run, record? }`, and its job id. */
const jobOf = (experiment: string, r: RunRequest): RunSpec & { id: string } => {
  const checked = validatePlanned({ run: r.config, ...(r.record ? { record: r.record } : {}) })
  if (!checked.ok) throw new Error(`run "${r.tag}": ${checked.error}`)
  const spec = { experiment, label: `${r.config.runs[0]} (${r.tag})`, config: checked.config, seed: r.config.seed }
  return { ...spec, id: runId(spec) }
}

/** Looks requests up among finished jobs by id, decoding each result once. */
const lookup = (experiment: string, result: (id: string) => Json | undefined) => {
  const decoded = new Map<string, RunResult>()
  return (r: RunRequest): RunResult | undefined => {
    const { id } = jobOf(experiment, r)
    const hit = decoded.get(id)
    if (hit) return hit
    const j = result(id)
    if (j === undefined) return undefined
    const d = decodeResult(j)
    decoded.set(id, d)
    return d
  }
}

/** What a finished run leaves in Redis and results.json: the numbers of the report, no wall times (those differ per machine). */
const summary = (r: Awaited<ReturnType<typeof runExperiment>>['runs'][number], seconds: number) => ({
  acc: r.test.acc,
  nme: r.test.nme,
  nmeIO: r.test.nmeIO,
  nmeIP: r.test.nmeIP,
  perClass: r.test.perClass,
  confusion: r.test.confusion,
  tnInit: r.tnInit,
  tnEnd: r.tnEnd,
  tndrLayers: r.tndrLayers,
  history: r.history.map((h) => ({ epoch: h.epoch, metrics: h.metrics })),
  seconds,
})

// two-sided 95% Student t quantiles for 1…30 degrees of freedom (1.96 beyond)
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

/** `mean ± half-width of the 95% t-interval (n)`, or the single value with n = 1. */
export const meanCi = (xs: readonly number[], scale = 1, digits = 1): string => {
  const n = xs.length
  const m = xs.reduce((a, b) => a + b, 0) / n
  if (n < 2) return `${(scale * m).toFixed(digits)} (n=1)`
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1))
  const h = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n))
  return `${(scale * m).toFixed(digits)} ± ${(scale * h).toFixed(digits)} (n=${n})`
}

type Summary = ReturnType<typeof summary>

const report = (experiment: string, rows: readonly ReportRow[]): Record<string, string> => {
  const labels = [...new Set(rows.map((r) => r.spec.label))]
  const lines = [
    `# ${experiment} (grid)`,
    '',
    'Mean over seeds ± half-width of the 95% t-interval; NME inter-ocular. One job per run and seed.',
    '',
    '| run | expr acc (A) % | landmark NME (B) % | TNDR (LAF) | seeds |',
    '|:--|--:|--:|--:|--:|',
  ]
  for (const label of labels) {
    const done = rows.filter((r) => r.spec.label === label && r.result !== undefined).map((r) => r.result as unknown as Summary)
    const all = rows.filter((r) => r.spec.label === label)
    if (done.length === 0) {
      lines.push(`| ${label} | – | – | – | 0 of ${all.length} |`)
      continue
    }
    lines.push(
      `| ${label} | ${meanCi(
        done.map((d) => d.acc),
        100,
      )} | ${meanCi(
        done.map((d) => d.nme),
        100,
        2,
      )} | ${meanCi(
        done.map((d) => d.tnEnd / d.tnInit),
        1,
        3,
      )} | ${done.length} of ${all.length} |`,
    )
  }
  const missing = rows.filter((r) => r.result === undefined)
  if (missing.length > 0)
    lines.push(
      '',
      `Missing runs (${missing.length}):`,
      '',
      ...missing.map((r) => `- ${r.spec.label}, seed ${r.spec.seed} (${r.id}): ${r.missing}`),
    )
  const results = rows.map((r) => {
    const { seconds: _s, ...numbers } = (r.result ?? {}) as unknown as Summary
    return {
      id: r.id,
      run: r.spec.label,
      seed: r.spec.seed,
      config: { ...(r.spec.config as object), seed: r.spec.seed },
      ...(r.result === undefined ? { missing: r.missing } : { result: numbers }),
    }
  })
  return { 'report.md': `${lines.join('\n')}\n`, 'results.json': `${JSON.stringify({ experiment, runs: results }, null, 2)}\n` }
}

/** The training run directory inside a grid run's directory, if an earlier attempt made one. */
const previousRun = (dir: string): string | undefined =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'config.json')))
    .map((d) => join(dir, d.name))[0]

/**
 * A lock left by a worker on another machine cannot be checked for life from here, but the queue has just given
 * this worker the job because that worker's lease expired: the lock is stale, and is removed (and said so).
 */
const dropForeignLock = (dir: string, log: (line: string) => void): void => {
  const path = join(dir, 'lock')
  let holder: { pid?: number; host?: string }
  try {
    holder = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    return
  }
  if (holder.host === undefined || holder.host === hostname()) return // same machine: openRun checks the process itself
  unlinkSync(path)
  log(`removed the stale lock of process ${holder.pid} on ${holder.host} from ${dir} (its job lease expired)`)
}

export const paperGridLibrary: GridLibrary = {
  experiments: [...Object.keys(gridExperiments), ...Object.keys(plannedExperiments)],
  planned: Object.keys(plannedExperiments),
  plan: (experiment, params, result) => {
    const ctx = planContext(params)
    return plannedExperiments[experiment].runs(ctx, lookup(experiment, result)).map((r) => jobOf(experiment, r))
  },
  runs: (experiment, preset = 'default') => {
    const base = (paperPresets as Readonly<Record<string, { base: ExperimentConfig } | undefined>>)[preset]?.base
    if (!base) throw new Error(`unknown preset "${preset}"; expected ${Object.keys(paperPresets).join(', ')}`)
    return gridExperiments[experiment].map((kind) => ({ label: kind, config: { ...base, runs: [kind] } as unknown as Json }))
  },
  validate: (experiment, raw) => {
    if (experiment in plannedExperiments) return validatePlanned(raw)
    const c = decodeExperimentConfig(raw)
    if (isLeft(c)) return { ok: false, error: c.left.join('; ') }
    if (c.right.runs.length !== 1) return { ok: false, error: `runs: a grid job trains exactly one run, got ${c.right.runs.length}` }
    return { ok: true, config: c.right as unknown as Json }
  },
  run: async (spec, ctx) => {
    const planned = spec.experiment in plannedExperiments
    const job = spec.config as unknown as { run: ExperimentConfig; record?: RecordOptions }
    const config = { ...(planned ? job.run : (spec.config as unknown as ExperimentConfig)), seed: spec.seed }
    const backend = await backendFor((ctx.backend ?? config.backend) as ExperimentConfig['backend'])
    let last = 0
    const t0 = performance.now()
    const log = ctx.log ?? (() => {})
    const r = await runExperiment(config, {
      backend,
      ...(planned && job.record ? { record: job.record } : {}),
      // run directory with a safetensors checkpoint every epoch; a later attempt continues from the latest one
      fit: (init, fc, run) => {
        let prev = previousRun(ctx.dir)
        // per-epoch records live in the process, not in checkpoints: such a run starts over instead of resuming
        if (prev !== undefined && planned && job.record?.traceNormsPerEpoch) {
          log(`restarting ${basename(ctx.dir)}: its per-epoch trace norms are not in the checkpoints`)
          rmSync(prev, { recursive: true, force: true })
          prev = undefined
        }
        if (prev === undefined) return fitRun(init, fc, { out: ctx.dir, name: run, config: { experiment: config, run } })
        dropForeignLock(prev, log)
        const [latest] = listCheckpoints(prev)
        log(
          latest
            ? `resumed ${basename(ctx.dir)} from checkpoint ${basename(latest, '.safetensors')}`
            : `restarted ${basename(ctx.dir)} (no checkpoint yet)`,
        )
        return fitRun(init, fc, { resume: prev, config: { experiment: config, run } })
      },
      onProgress: (p) => {
        // Redis round trips are cheap but not free: at most one progress update per second
        const now = performance.now()
        if (now - last < 1000 && !(p.step === p.steps && p.epoch === p.epochs)) return
        last = now
        ctx.progress({ run: p.run, epoch: p.epoch, epochs: p.epochs, step: p.step, steps: p.steps, metrics: p.metrics }).catch(() => {})
      },
    })
    const run = r.runs[0]
    if (!Number.isFinite(run.test.acc) || !Number.isFinite(run.test.nme))
      throw new RunFailed(`${spec.label} seed ${spec.seed}: non-finite test metrics (acc ${run.test.acc}, NME ${run.test.nme})`)
    return (planned ? encodeResult(run) : summary(run, (performance.now() - t0) / 1000)) as Json
  },
  report: (experiment, rows, params) => {
    const exp = plannedExperiments[experiment]
    if (!exp) return report(experiment, rows)
    const byId = new Map(rows.map((r) => [r.id, r]))
    const have = lookup(experiment, (id) => byId.get(id)?.result)
    const seconds = rows.reduce((t, r) => t + (r.result === undefined ? 0 : decodeResult(r.result).seconds), 0)
    const why = (r: RunRequest) => byId.get(jobOf(experiment, r).id)?.missing ?? 'not submitted'
    return reportFiles(exp.report(planContext(params ?? { sweeps: [] }), have, seconds, why))
  },
}
