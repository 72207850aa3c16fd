/** Expanding `experiment × sweep points × seeds` into validated run specs, refusing a bad config before anything is queued. */
import type { GridLibrary, GridParams, Json, ReportRow, RunSpec } from './library.ts'
import { runId } from './library.ts'

/** A bad grid (flag, sweep, config): the message names what and why; the CLI exits 2 with it. */
export class GridError extends Error {
  override name = 'GridError'
}

/** One `--sweep name=v1,v2`: a dotted config path and its values. */
export interface Sweep {
  readonly path: string
  readonly values: readonly Json[]
}

const scalar = (s: string): Json => {
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(s)) return Number(s)
  if (s === 'true' || s === 'false') return s === 'true'
  return s
}

/** Parses `name=v1,v2,…` (numbers and booleans as such, the rest as strings). */
export const parseSweep = (text: string): Sweep => {
  const m = /^([A-Za-z_][\w.]*)=(.+)$/.exec(text)
  if (!m) throw new GridError(`--sweep: expected name=v1,v2,… (e.g. gamma=0.01,0.1), got "${text}"`)
  const values = m[2].split(',')
  if (values.some((v) => v === '')) throw new GridError(`--sweep ${m[1]}: empty value in "${m[2]}"`)
  return { path: m[1], values: values.map(scalar) }
}

/** Parses `--seeds`: a count `N` (seeds 0…N−1) or a list `3,5,8`. */
export const parseSeeds = (text: string): readonly number[] => {
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    if (n < 1 || n > 10000) throw new GridError(`--seeds: expected a count from 1 to 10000 or a list like 0,1,2, got "${text}"`)
    return Array.from({ length: n }, (_, i) => i)
  }
  const seeds = text.split(',')
  if (!seeds.every((s) => /^\d+$/.test(s)))
    throw new GridError(`--seeds: expected a count or a comma-separated list of integers ≥ 0, got "${text}"`)
  const out = seeds.map(Number)
  if (new Set(out).size !== out.length) throw new GridError(`--seeds: repeated seed in "${text}"`)
  return out
}

const setPath = (config: Json, path: string, value: Json): Json => {
  const [head, ...rest] = path.split('.')
  const obj = config !== null && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, Json>) : {}
  return { ...obj, [head]: rest.length === 0 ? value : setPath(obj[head] ?? {}, rest.join('.'), value) }
}

const product = (sweeps: readonly Sweep[]): readonly (readonly [string, Json])[][] =>
  sweeps.reduce<(readonly [string, Json])[][]>((acc, s) => acc.flatMap((pts) => s.values.map((v) => [...pts, [s.path, v] as const])), [[]])

/** The grid's runs, each validated by the library; throws GridError naming the first bad run and field. */
export const expandGrid = (
  lib: GridLibrary,
  experiment: string,
  opts: { readonly preset?: string; readonly seeds: readonly number[]; readonly sweeps: readonly Sweep[] },
): readonly (RunSpec & { readonly id: string })[] => {
  if (!lib.experiments.includes(experiment))
    throw new GridError(`grid: unknown experiment "${experiment}"; expected one of ${lib.experiments.join(', ')}`)
  let base: readonly { readonly label: string; readonly config: Json }[]
  try {
    base = lib.runs(experiment, opts.preset)
  } catch (e) {
    throw new GridError(`grid ${experiment}: ${(e as Error).message}`)
  }
  const specs: (RunSpec & { id: string })[] = []
  for (const run of base)
    for (const point of product(opts.sweeps)) {
      const raw = point.reduce((c, [p, v]) => setPath(c, p, v), run.config)
      const label = [run.label, ...point.map(([p, v]) => `${p}=${String(v)}`)].join(' ')
      const checked = lib.validate(experiment, raw)
      if (!checked.ok) throw new GridError(`grid ${experiment}: run "${label}": ${checked.error}`)
      for (const seed of opts.seeds) {
        const spec = { experiment, label, config: checked.config, seed }
        specs.push({ ...spec, id: runId(spec) })
      }
    }
  const seen = new Map<string, string>()
  for (const s of specs) {
    const other = seen.get(s.id)
    if (other !== undefined)
      throw new GridError(
        `grid ${experiment}: runs "${other}" and "${s.label}" have the same config and seed ${s.seed} (a sweep overrides what tells them apart?)`,
      )
    seen.set(s.id, s.label)
  }
  return specs
}

/** True when `experiment` is planned from earlier results (its runs come from `lib.plan`, not from a sweep product). */
export const isPlanned = (lib: GridLibrary, experiment: string): boolean =>
  lib.plan !== undefined && (lib.planned ?? []).includes(experiment)

/** The validated runs of a planned experiment knowable from `result` (by job id); throws GridError naming a bad run. */
export const planGrid = (
  lib: GridLibrary,
  experiment: string,
  params: GridParams,
  result: (id: string) => Json | undefined,
): (RunSpec & { readonly id: string })[] => {
  if (!lib.plan || !isPlanned(lib, experiment)) throw new GridError(`grid: "${experiment}" is not a planned experiment`)
  let runs: ReturnType<NonNullable<GridLibrary['plan']>>
  try {
    runs = lib.plan(experiment, params, result)
  } catch (e) {
    throw new GridError(`grid ${experiment}: ${(e as Error).message}`)
  }
  const seen = new Set<string>()
  const specs: (RunSpec & { id: string })[] = []
  for (const r of runs) {
    const checked = lib.validate(experiment, r.config)
    if (!checked.ok) throw new GridError(`grid ${experiment}: run "${r.label}": ${checked.error}`)
    const spec = { experiment, label: r.label, config: checked.config, seed: r.seed }
    const id = runId(spec)
    // a plan may name one run twice (a reused run): it is one job
    if (!seen.has(id)) specs.push({ ...spec, id })
    seen.add(id)
  }
  return specs
}

/**
 * Plans, fetches the planned runs' rows (finished or not), and plans again until the plan stops growing: the runs of
 * every stage whose inputs have finished, with their rows.
 */
export const settlePlan = async (
  lib: GridLibrary,
  experiment: string,
  params: GridParams,
  fetch: (runs: readonly (RunSpec & { readonly id: string })[]) => Promise<readonly ReportRow[]>,
): Promise<{ readonly runs: readonly (RunSpec & { readonly id: string })[]; readonly rows: readonly ReportRow[] }> => {
  let rows: readonly ReportRow[] = []
  let ids = ''
  for (;;) {
    const done = new Map(rows.filter((r) => r.result !== undefined).map((r) => [r.id, r.result as Json]))
    const runs = planGrid(lib, experiment, params, (id) => done.get(id))
    const now = runs.map((r) => r.id).join(',')
    if (now === ids) return { runs, rows }
    ids = now
    rows = await fetch(runs)
  }
}
