/**
 * The training loop as a fold over batches: `state ← await step(state, batch)`, with a Keras-style line per
 * epoch (`Epoch 3/10 - 4.2s - loss=0.1234 - acc=0.5000`), an optional live progress sink and an optional log
 * sink (one record per epoch). It can start from a cursor (epoch, batch, running sums) saved by a checkpoint,
 * so a resumed run takes exactly the batches and sums an uninterrupted one would. Browser-safe: the Node sinks
 * (run directories, JSONL, TensorBoard, terminal progress) are in `softshare/node`.
 */
import { readbackState, releaseState } from './step.ts'
import { leaves, type Tree } from '../tensor/tree.ts'

/** Where a run stands: the epoch in progress (0-based), batches of it already taken, and its running sums. */
export interface FitCursor {
  readonly epoch: number
  readonly batch: number
  readonly sums: Readonly<Record<string, number>>
  readonly count: number
  /** Training seconds spent so far over the whole run (all earlier processes of a resumed run included). */
  readonly wall: number
  readonly history: readonly EpochRecord[]
}

/** What a progress sink gets besides the rendered bar. */
export interface ProgressInfo {
  readonly label: string
  readonly epoch: number
  readonly epochs: number
  readonly batch: number
  readonly batches: number | undefined
  /** Steps per second over this process's steps of the current epoch. */
  readonly rate: number
  /** Seconds until the last epoch's training steps end, at `rate`; undefined when the epoch length is unknown. */
  readonly eta: number | undefined
  readonly metrics: Readonly<Record<string, number>>
}

/**
 * A step function may carry `diagnose` (rerun one step with checks that name the op producing a non-finite value)
 * and `release` (let go of the memory of a state the loop made and no longer needs; `keep` lists leaves to spare).
 */
export type StepFn<St, B> = ((state: St, batch: B) => Promise<St & { readonly metrics: Readonly<Record<string, number>> }>) & {
  readonly diagnose?: (state: St, batch: B) => Promise<string>
  readonly release?: (old: St, next: St, keep: ReadonlySet<unknown>) => void
}

export interface FitConfig<St, B> {
  readonly epochs: number
  /** The batches of one epoch (a fresh iterable per epoch: shuffling is keyed by the epoch). */
  readonly batches: (epoch: number) => Iterable<B>
  /** Number of batches per epoch, for the progress bar and ETA. */
  readonly stepsPerEpoch?: number
  readonly step: StepFn<St, B>
  /** Extra metrics computed at the end of each epoch (validation), merged into the epoch line and log. */
  readonly onEpochEnd?: (state: St, epoch: number) => Promise<Record<string, number>> | Record<string, number>
  /** Where epoch lines go (default: console.log); `null` silences them. */
  readonly print?: ((line: string) => void) | null
  /** Receives one `EpochLog` per epoch, e.g. a run directory's `log` from `softshare/node`. */
  readonly log?: (record: EpochLog) => void
  /** Prefix for epoch lines and the log's `run` field (e.g. the run's name). */
  readonly label?: string
  /** Gets a live progress line after each step ('' clears it) and its numbers, e.g. `progressSink()` from `softshare/node`. */
  readonly progress?: (line: string, info?: ProgressInfo) => void
  /** Learning rate at a step, recorded in the log. */
  readonly lr?: (step: number) => number
  /** Continue from a checkpointed cursor instead of epoch 0, batch 0. */
  readonly resume?: FitCursor
  /**
   * Called after every step with the cursor pointing at the next batch (checkpoint here; a resident state needs
   * `readbackState`). The hooks may read the state they get during the call; the next step lets go of its memory
   * (a `trainStep`'s `release`), so one that keeps a state for later reads its data first (or saves it).
   */
  readonly afterStep?: (state: St, cursor: FitCursor) => void | Promise<void>
  /** Called after each epoch's record is logged, with the cursor at the next epoch's start (see `afterStep`). */
  readonly afterEpoch?: (state: St, record: EpochLog, cursor: FitCursor) => void | Promise<void>
}

// type aliases, not interfaces: they stay assignable to Record<string, unknown> sinks
export type EpochRecord = {
  readonly epoch: number
  readonly seconds: number
  readonly metrics: Readonly<Record<string, number>>
}

/** One line of `metrics.jsonl`: train metrics are step means over the epoch, test metrics come from `onEpochEnd`. */
export type EpochLog = EpochRecord & {
  readonly run: string
  readonly step: number
  /** Training seconds since the run began (across resumes). */
  readonly wall: number
  readonly lr?: number
  readonly train: Readonly<Record<string, number>>
  readonly test: Readonly<Record<string, number>>
}

/** Thrown when a step's loss is NaN or ±Inf: names the step and, when the step can diagnose, the op. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message)
    this.name = 'NonFiniteLossError'
  }
}

/** `Epoch 3/10 - 4.2s - loss=0.1234 - acc=0.5000` */
export const formatEpoch = (
  epoch: number,
  epochs: number,
  seconds: number,
  metrics: Readonly<Record<string, number>>,
  label = '',
): string =>
  `${label ? `${label} ` : ''}Epoch ${epoch}/${epochs} - ${seconds.toFixed(1)}s - ${Object.entries(metrics)
    .map(([k, v]) => `${k}=${fmtNum(v)}`)
    .join(' - ')}`

const fmtNum = (v: number): string => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4))

/** `1h02m`, `3m05s`, `42s` */
export const formatDuration = (s: number): string => {
  if (!Number.isFinite(s)) return '?'
  const r = Math.max(0, Math.round(s))
  if (r >= 3600) return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`
  if (r >= 60) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`
  return `${r}s`
}

const bar = (p: ProgressInfo): string => {
  const width = 24
  const frac = p.batches ? Math.min(1, p.batch / p.batches) : 0
  const fill = Math.round(frac * width)
  const m = Object.entries(p.metrics)
    .map(([k, v]) => `${k}=${fmtNum(v)}`)
    .join(' ')
  const eta = p.eta === undefined ? '' : ` ETA ${formatDuration(p.eta)}`
  return `${p.batches ? `${p.batch}/${p.batches}` : p.batch} [${'='.repeat(fill)}${' '.repeat(width - fill)}]${eta} ${m}`
}

const stepOf = (s: unknown, fallback: number): number => {
  const v = (s as { step?: unknown }).step
  return typeof v === 'number' ? v : fallback
}

/** Runs `epochs` epochs; resolves to the final state and one record per epoch (running means of step metrics). */
export const fit = async <St, B>(initial: St, c: FitConfig<St, B>): Promise<{ state: St; history: EpochRecord[] }> => {
  if (!Number.isInteger(c.epochs) || c.epochs < 0) throw new RangeError(`fit: epochs must be a non-negative integer, got ${c.epochs}`)
  const r = c.resume
  if (r && !(Number.isInteger(r.epoch) && r.epoch >= 0 && Number.isInteger(r.batch) && r.batch >= 0))
    throw new RangeError(`fit: resume cursor must have non-negative integer epoch and batch, got epoch ${r.epoch}, batch ${r.batch}`)
  const print = c.print === undefined ? (l: string) => console.log(l) : c.print
  const label = (c.label ?? '').trim()
  let state = initial
  // the caller's tensors: never released, even when a step passes them on and a later one replaces them
  const callers = new Set<unknown>(leaves(initial as Tree<unknown>))
  const history: EpochRecord[] = [...(r?.history ?? [])]
  let wallBefore = r?.wall ?? 0
  let taken = 0
  for (let e = r?.epoch ?? 0; e < c.epochs; e++) {
    const t0 = performance.now()
    const resumed = r && e === r.epoch
    const sums: Record<string, number> = resumed ? { ...r.sums } : {}
    let n = resumed ? r.count : 0
    const skip = resumed ? r.batch : 0
    let b = 0
    let sessionSteps = 0
    for (const batch of c.batches(e)) {
      if (b++ < skip) continue
      const before = state
      const out = await c.step(state, batch)
      const { metrics, ...rest } = out
      const loss = metrics.loss
      if (loss !== undefined && !Number.isFinite(loss)) {
        const at = stepOf(before, taken)
        const why = c.step.diagnose ? await c.step.diagnose(before, batch) : 'no diagnosis: the step function has no diagnose()'
        throw new NonFiniteLossError(
          `fit: loss is ${loss} at step ${at} (epoch ${e + 1}, batch ${b}${label ? `, run ${label}` : ''}); training stopped before ` +
            `saving this step, so the last checkpoint is the last good state. Rerun with checkNumerics: ${why}`,
          at,
        )
      }
      state = rest as unknown as St
      // the old state is dead once the new one exists (kept until here for diagnose)
      if (c.step.release) c.step.release(before, state, callers)
      else releaseState(before, state)
      n++
      taken++
      sessionSteps++
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v
      const secs = (performance.now() - t0) / 1000
      const cursor: FitCursor = { epoch: e, batch: b, sums: { ...sums }, count: n, wall: wallBefore + secs, history: [...history] }
      if (c.progress) {
        const rate = sessionSteps / Math.max(secs, 1e-9)
        const left = c.stepsPerEpoch === undefined ? undefined : (c.epochs - e) * c.stepsPerEpoch - b
        const info: ProgressInfo = {
          label,
          epoch: e + 1,
          epochs: c.epochs,
          batch: b,
          batches: c.stepsPerEpoch,
          rate,
          eta: left === undefined ? undefined : left / rate,
          metrics: mapValues(sums, (v) => v / n),
        }
        c.progress(bar(info), info)
      }
      await c.afterStep?.(state, cursor)
    }
    c.progress?.('')
    const means = mapValues(sums, (v) => v / Math.max(1, n))
    const extra = c.onEpochEnd ? await c.onEpochEnd(await readbackState(state), e) : {}
    const seconds = (performance.now() - t0) / 1000
    wallBefore += seconds
    const step = stepOf(state, taken)
    const rec: EpochLog = {
      run: label,
      epoch: e + 1,
      step,
      wall: wallBefore,
      ...(c.lr ? { lr: c.lr(Math.max(0, step - 1)) } : {}),
      seconds,
      train: means,
      test: extra,
      metrics: { ...means, ...extra },
    }
    history.push({ epoch: rec.epoch, seconds: rec.seconds, metrics: rec.metrics })
    print?.(formatEpoch(e + 1, c.epochs, seconds, rec.metrics, c.label))
    c.log?.(rec)
    if (c.afterEpoch)
      await c.afterEpoch(await readbackState(state), rec, {
        epoch: e + 1,
        batch: 0,
        sums: {},
        count: 0,
        wall: wallBefore,
        history: [...history],
      })
  }
  // the caller gets host tensors; the resident buffers die here
  const host = await readbackState(state)
  releaseState(state)
  return { state: host, history }
}

const mapValues = (o: Record<string, number>, f: (v: number) => number): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))
