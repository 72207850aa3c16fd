/**
 * The training loop as a fold over batches: `state ← await step(state, batch)`, with a Keras-style line per
 * epoch (`Epoch 3/10 - 4.2s - loss=0.1234 - acc=0.5000`), an optional live bar and an optional log sink
 * (one record per epoch). Browser-safe: the Node sinks (JSONL file, TTY bar) are in `softshare/node`.
 */

export interface FitConfig<St, B> {
  readonly epochs: number
  /** The batches of one epoch (a fresh iterable per epoch: shuffling is keyed by the epoch). */
  readonly batches: (epoch: number) => Iterable<B>
  /** Number of batches per epoch, for the progress bar. */
  readonly stepsPerEpoch?: number
  readonly step: (state: St, batch: B) => Promise<St & { readonly metrics: Readonly<Record<string, number>> }>
  /** Extra metrics computed at the end of each epoch (validation), merged into the epoch line and log. */
  readonly onEpochEnd?: (state: St, epoch: number) => Promise<Record<string, number>> | Record<string, number>
  /** Where epoch lines go (default: console.log); `null` silences them. */
  readonly print?: ((line: string) => void) | null
  /** Receives one record per epoch (`{ label, epoch, seconds, metrics }`), e.g. `jsonlLog(path)` from `softshare/node`. */
  readonly log?: (record: Readonly<Record<string, unknown>>) => void
  /** Prefix for epoch lines (e.g. the run's name). */
  readonly label?: string
  /** Redraws a live progress line after each step ('' clears it), e.g. `ttyProgress()` from `softshare/node`. */
  readonly progress?: (line: string) => void
}

export interface EpochRecord {
  readonly epoch: number
  readonly seconds: number
  readonly metrics: Readonly<Record<string, number>>
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

const bar = (done: number, total: number | undefined, metrics: Readonly<Record<string, number>>): string => {
  const width = 24
  const frac = total ? Math.min(1, done / total) : 0
  const fill = Math.round(frac * width)
  const m = Object.entries(metrics)
    .map(([k, v]) => `${k}=${fmtNum(v)}`)
    .join(' ')
  return `${total ? `${done}/${total}` : done} [${'='.repeat(fill)}${' '.repeat(width - fill)}] ${m}`
}

/** Runs `epochs` epochs; resolves to the final state and one record per epoch (running means of step metrics). */
export const fit = async <St, B>(initial: St, c: FitConfig<St, B>): Promise<{ state: St; history: EpochRecord[] }> => {
  if (!Number.isInteger(c.epochs) || c.epochs < 0) throw new RangeError(`fit: epochs must be a non-negative integer, got ${c.epochs}`)
  const print = c.print === undefined ? (l: string) => console.log(l) : c.print
  const live = c.progress
  let state = initial
  const history: EpochRecord[] = []
  for (let e = 1; e <= c.epochs; e++) {
    const t0 = performance.now()
    const sums: Record<string, number> = {}
    let n = 0
    for (const batch of c.batches(e - 1)) {
      const r = await c.step(state, batch)
      const { metrics, ...rest } = r
      state = rest as unknown as St
      n++
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v
      live?.(
        bar(
          n,
          c.stepsPerEpoch,
          mapValues(sums, (v) => v / n),
        ),
      )
    }
    live?.('')
    const means = mapValues(sums, (v) => v / Math.max(1, n))
    const extra = c.onEpochEnd ? await c.onEpochEnd(state, e - 1) : {}
    const seconds = (performance.now() - t0) / 1000
    const rec: EpochRecord = { epoch: e, seconds, metrics: { ...means, ...extra } }
    history.push(rec)
    print?.(formatEpoch(e, c.epochs, seconds, rec.metrics, c.label))
    c.log?.({ label: c.label, ...rec })
  }
  return { state, history }
}

const mapValues = (o: Record<string, number>, f: (v: number) => number): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))
