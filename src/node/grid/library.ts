/**
 * What the grid needs from an experiment library: the runs of an experiment, config validation, running one
 * run (resuming from its run directory) and writing the report. The grid itself knows nothing about training.
 */
import { createHash } from 'node:crypto'

/** A JSON value: what travels through Redis in a job's data and return value. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json }

/** One run of a grid: an experiment, a validated config and a seed. */
export interface RunSpec {
  readonly experiment: string
  /** Human-readable name of the run inside its experiment, e.g. `laf+ada gamma=0.01`. */
  readonly label: string
  readonly config: Json
  readonly seed: number
}

/** What a run may do besides computing: report progress and leave events for the run's history. */
export interface RunContext {
  /** The run's own directory (checkpoints, logs); a rerun of the same run gets the same directory. */
  readonly dir: string
  /** Progress shown by `grid status` (epoch, metrics); may be called often. */
  readonly progress: (p: Json) => Promise<void>
  /** The worker's `--backend` (`cpu`, `gpu`, `auto`, `ref`), or undefined for the library's default. */
  readonly backend?: string
  /** The worker's log (stderr), for lines such as where a run resumed. */
  readonly log?: (line: string) => void
}

/** A finished run for the report: its spec and result, or `undefined` when it has not finished. */
export interface ReportRow {
  readonly spec: RunSpec
  readonly id: string
  readonly result: Json | undefined
  /** Why there is no result (`failed: …`, `waiting`, `not submitted`), listed in the report. */
  readonly missing?: string
}

/** A deterministic failure (bad config, NaN): marked failed at once, never retried. */
export class RunFailed extends Error {
  override name = 'RunFailed'
}

/** What names a planned experiment's grid: `--preset`, `--seeds` and the `--sweep` words as given (e.g. `domain-shift`). */
export interface GridParams {
  readonly preset?: string
  /** Undefined: the experiment's default for the preset. */
  readonly seeds?: readonly number[]
  readonly sweeps: readonly string[]
}

/** A run of a planned experiment before validation: its label, config and seed. */
export interface PlannedRun {
  readonly label: string
  readonly config: Json
  readonly seed: number
}

/** The pluggable part: softshare's paper experiments by default, anything with this shape otherwise. */
export interface GridLibrary {
  readonly experiments: readonly string[]
  /** The runs of `experiment` at `preset` before seeds and sweeps; throws naming an unknown experiment/preset. */
  readonly runs: (experiment: string, preset: string | undefined) => readonly { readonly label: string; readonly config: Json }[]
  /** Checks a config (from flags, or taken off the queue): the validated config, or an error message naming the field. */
  readonly validate: (
    experiment: string,
    config: unknown,
  ) => { readonly ok: true; readonly config: Json } | { readonly ok: false; readonly error: string }
  /** Runs one run to completion in `ctx.dir`, resuming from its last checkpoint there; throws RunFailed on deterministic failure. */
  readonly run: (spec: RunSpec, ctx: RunContext) => Promise<Json>
  /** The report files (name → contents) of `experiment` from its rows (`params` for a planned one), as the single-machine command writes them. */
  readonly report: (experiment: string, rows: readonly ReportRow[], params?: GridParams) => Readonly<Record<string, string | Uint8Array>>
  /**
   * Experiments whose runs depend on earlier results (e.g. runs at the γ chosen on validation): `plan` names every
   * run knowable from the finished ones (`result` by job id), the grid submits them as results arrive, and
   * `report` gets the same `params`. `--sweep` words go to `plan` unparsed; throws naming a bad preset, seeds or sweep.
   */
  readonly planned?: readonly string[]
  readonly plan?: (experiment: string, params: GridParams, result: (id: string) => Json | undefined) => readonly PlannedRun[]
}

/** JSON with object keys sorted, so equal configs hash equally whatever order their keys were written in. */
export const canonicalJson = (x: unknown): string => {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`
  if (x !== null && typeof x === 'object')
    return `{${Object.keys(x)
      .sort()
      .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`)
      .join(',')}}`
  if (typeof x === 'number' && !Number.isFinite(x)) throw new RangeError(`canonicalJson: ${x} is not representable in JSON`)
  return JSON.stringify(x)
}

/** The job id of a run: `<experiment>-<16 hex of sha256(experiment, validated config, seed)>`; the label is not part of it. */
export const runId = (spec: Pick<RunSpec, 'experiment' | 'config' | 'seed'>): string =>
  `${spec.experiment}-${createHash('sha256')
    .update(canonicalJson({ experiment: spec.experiment, config: spec.config, seed: spec.seed }))
    .digest('hex')
    .slice(0, 16)}`
