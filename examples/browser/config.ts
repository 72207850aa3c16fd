/** The demo's settings and their parsing from URL parameters (no library import: the page bundle stays small). */
export const RUN_KINDS = ['single', 'laf', 'laf+ada'] as const
export type RunKind = (typeof RUN_KINDS)[number]

/** Everything the page may set (URL parameters of the same names). */
export interface DemoConfig {
  readonly runs: readonly RunKind[]
  /** Face side in pixels; training and test faces per domain; batch per task. */
  readonly size: number
  readonly train: number
  readonly test: number
  readonly batch: number
  readonly width: number
  readonly lr: number
  readonly gamma: number
  readonly adaWeight: number
  /** Stop after this many steps per run. */
  readonly steps: number
  /** Measure trace norms and test predictions every this many steps. */
  readonly evalEvery: number
  readonly seed: number
}

export const defaultConfig: DemoConfig = {
  runs: ['single', 'laf', 'laf+ada'],
  size: 48,
  train: 512,
  test: 64,
  batch: 32,
  width: 8,
  lr: 6e-3,
  gamma: 1e-2,
  adaWeight: 0.1,
  steps: 600,
  evalEvery: 16,
  seed: 0,
}

const intIn = (lo: number, hi: number) => (s: string) => (/^\d+$/.test(s) && +s >= lo && +s <= hi ? +s : undefined)
const numIn = (lo: number, hi: number) => (s: string) => (s.trim() !== '' && Number.isFinite(+s) && +s >= lo && +s <= hi ? +s : undefined)
const numeric: Record<Exclude<keyof DemoConfig, 'runs'>, [(s: string) => number | undefined, string]> = {
  size: [intIn(16, 128), 'an integer in [16, 128]'],
  train: [intIn(1, 65536), 'an integer in [1, 65536]'],
  test: [intIn(1, 4096), 'an integer in [1, 4096]'],
  batch: [intIn(1, 1024), 'an integer in [1, 1024]'],
  width: [intIn(1, 64), 'an integer in [1, 64]'],
  lr: [numIn(0, 1), 'a number in [0, 1]'],
  gamma: [numIn(0, 100), 'a number in [0, 100]'],
  adaWeight: [numIn(0, 100), 'a number in [0, 100]'],
  steps: [intIn(1, 1e7), 'an integer in [1, 10000000]'],
  evalEvery: [intIn(1, 1e6), 'an integer in [1, 1000000]'],
  seed: [intIn(0, 2 ** 31), 'a non-negative integer'],
}

/** Reads a config from string settings (URL parameters); unknown keys are ignored, bad values are named. */
export const parseConfig = (get: (name: string) => string | null): { config: DemoConfig; errors: string[] } => {
  const errors: string[] = []
  const out: Record<string, unknown> = { ...defaultConfig }
  for (const [name, [parse, what]] of Object.entries(numeric)) {
    const s = get(name)
    if (s === null) continue
    const v = parse(s)
    if (v === undefined) errors.push(`${name}: expected ${what}, got ${JSON.stringify(s)}`)
    else out[name] = v
  }
  const runs = get('runs')
  if (runs !== null) {
    const names = runs.split(',').filter(Boolean)
    const bad = names.filter((r) => !(RUN_KINDS as readonly string[]).includes(r))
    if (bad.length || names.length === 0)
      errors.push(`runs: expected a comma-separated list of ${RUN_KINDS.join(', ')}, got ${JSON.stringify(runs)}`)
    else out.runs = names
  }
  const c = out as unknown as DemoConfig
  if (c.batch > c.train) errors.push(`batch: must not exceed train (${c.train}), got ${c.batch}`)
  return { config: c, errors }
}
