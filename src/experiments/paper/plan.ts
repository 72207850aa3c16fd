/**
 * An experiment as two halves that one machine and a grid share: `runs` (the run configs it needs, given the
 * results known so far, so a later stage such as the runs at the γ chosen on validation appears once its inputs
 * exist) and `report` (a pure function of the finished runs' results).
 */
import type { ExperimentConfig } from '../config.ts'
import type { ExperimentData } from '../data.ts'
import type { RecordOptions, RunResult } from '../run.ts'
import { type ExperimentName, type PaperContext, type Report, runner } from './common.ts'

/** One run: a config with exactly one run kind (its seed inside), what to record, and a tag for logs and progress. */
export interface RunRequest {
  readonly config: ExperimentConfig
  readonly record?: RecordOptions
  readonly tag: string
}

/**
 * What the halves read from a context: sizes and the sweep, never the backend or the sinks; `data` shares the
 * runs' data sets with a report that needs a property of the data (made from the config when absent).
 */
export type PlanContext = Pick<PaperContext, 'preset' | 'seeds' | 'sweep'> & { readonly data?: (c: ExperimentConfig) => ExperimentData }

/** The result of a request, or undefined when it has not finished (yet). */
export type RunLookup = (r: RunRequest) => RunResult | undefined

export interface PlannedExperiment {
  readonly name: ExperimentName
  /** Every run the experiment needs that can be named from `have`'s results (the same list again once all are known). */
  readonly runs: (ctx: PlanContext, have: RunLookup) => readonly RunRequest[]
  /**
   * The report from the finished runs; `seconds` is the experiment's time. A planned run without a result is listed
   * under "Missing runs" with `why(run)` (default `not run`).
   */
  readonly report: (ctx: PlanContext, have: RunLookup, seconds: number, why?: (r: RunRequest) => string) => Report
}

/** The identity of a request: its config and record options as canonical JSON (the tag is not part of it). */
export const requestKey = (r: RunRequest): string => canonical({ config: r.config, record: r.record ?? {} })

const canonical = (x: unknown): string => {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`
  if (x !== null && typeof x === 'object')
    return `{${Object.keys(x)
      .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return typeof x === 'number' && !Number.isFinite(x) ? `"${x}"` : JSON.stringify(x)
}

/** The planned runs that have no result, in plan order. */
export const missingRuns = (ctx: PlanContext, exp: PlannedExperiment, have: RunLookup): RunRequest[] =>
  exp.runs(ctx, have).filter((r) => have(r) === undefined)

/** `## Missing runs` lines (empty when none is missing), so a partial report says what it lacks. */
export const missingSection = (missing: readonly RunRequest[], why: (r: RunRequest) => string = () => 'not run'): string[] =>
  missing.length === 0
    ? []
    : [
        `## Missing runs (${missing.length})`,
        '',
        'These planned runs have no result; the numbers above leave them out, and runs that depend on them are not planned yet.',
        '',
        ...missing.map((r) => `- ${r.tag}: ${r.config.runs[0]}, seed ${r.config.seed}: ${why(r)}`),
        '',
      ]

/** Runs a planned experiment on one machine: the missing runs of each stage in plan order, then the report. */
export const runPlanned = async (exp: PlannedExperiment, ctx: PaperContext): Promise<Report> => {
  const t0 = performance.now()
  const go = runner(ctx, exp.name)
  const done = new Map<string, RunResult>()
  const have: RunLookup = (r) => done.get(requestKey(r))
  for (let todo = missingRuns(ctx, exp, have); todo.length > 0; todo = missingRuns(ctx, exp, have))
    for (const r of todo) {
      const k = requestKey(r)
      if (done.has(k)) continue
      const res = await go(r.config, { tag: r.tag, ...(r.record ? { record: r.record } : {}) })
      done.set(k, res.runs[0])
    }
  return exp.report({ ...ctx, data: go.data }, have, (performance.now() - t0) / 1000)
}

/**
 * A run result as JSON that survives a round trip exactly (numbers print shortest-exact; NaN and ±Infinity become
 * `{"$num":"NaN"}`), without the trained parameters.
 */
export const encodeResult = (r: RunResult): unknown => {
  const { params: _p, ...rest } = r
  return JSON.parse(JSON.stringify(rest, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v)))
}

/** The inverse of `encodeResult`. */
export const decodeResult = (j: unknown): RunResult =>
  JSON.parse(JSON.stringify(j), (_, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof v.$num === 'string'
      ? Number(v.$num)
      : v,
  ) as RunResult
