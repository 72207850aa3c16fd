/** Presets and validated flags of the quickstart (io-ts codecs; clear messages on bad values). */
import { isLeft } from 'fp-ts/lib/Either.js'
import { defaultExperiment, type ExperimentConfig, type RunKind, runKinds } from '../src/experiments/config.ts'
import { flag, parseFlags } from '../src/train/flags.ts'

export { type RunKind, runKinds }

export interface QuickstartConfig {
  readonly preset: 'default' | 'small' | 'paper'
  /** Training / validation / test faces per task (domain A: expressions, domain B: landmarks); val 0 = none. */
  readonly train: number
  readonly val: number
  readonly test: number
  /** Image side in pixels. */
  readonly size: number
  readonly epochs: number
  readonly batch: number
  /** 'small' ResNet (width w, 3 stages) or the paper's 'resnet34' / 'resnet18'. */
  readonly arch: 'small' | 'resnet18' | 'resnet34'
  readonly width: number
  readonly lr: number
  /** Trace-norm strength γ (one for all conv layers and, for Tucker/TT, all unfoldings). */
  readonly gamma: number
  /** Randomized-SVD rank k for Tucker/TT unfoldings with min side > k + 10 (smaller ones are exact). */
  readonly svdRank: number
  /** ADA loss weight (λ follows the 2/(1+e^{−10p}) − 1 schedule). */
  readonly adaWeight: number
  /** Conv layers shared by the 'hard' baseline. */
  readonly hardLayers: number
  readonly runs: readonly RunKind[]
  readonly seed: number
  /** Expression intensity of the synthetic faces (1 = subtle). */
  readonly intensity: number
  /** JSONL metrics log path ('' = none). */
  readonly log: string
  /** Parent folder of the run directories, OUT/<run-id>/ per run ('' = none). */
  readonly out: string
  /** A run directory to continue from its latest checkpoint ('' = none). */
  readonly resume: string
  /** Also checkpoint every N steps (0 = at epoch ends only). */
  readonly checkpointEvery: number
  /** The epoch metric that picks `best.safetensors` ('' = val_err with a validation split, else the training loss). */
  readonly bestMetric: '' | BestMetric
  /** Where the kernels run. */
  readonly backend: ExperimentConfig['backend']
}

/** Epoch metrics `best.safetensors` can follow: validation (see `validationError`) or the training loss. */
export const bestMetrics = ['val_err', 'val_acc', 'val_nme', 'loss'] as const
export type BestMetric = (typeof bestMetrics)[number]

const base: QuickstartConfig = {
  preset: 'default',
  train: 2048,
  val: defaultExperiment.val,
  test: 256,
  size: 48,
  epochs: 6,
  batch: 32,
  arch: 'small',
  width: 8,
  lr: 6e-3,
  gamma: 1e-2,
  svdRank: 16,
  adaWeight: 0.1,
  hardLayers: 3,
  runs: ['single', 'laf', 'laf+ada'],
  seed: 0,
  intensity: 1,
  log: '',
  out: '',
  resume: '',
  checkpointEvery: 0,
  bestMetric: '',
  backend: 'cpu',
}

export const presets: Readonly<Record<QuickstartConfig['preset'], QuickstartConfig>> = {
  default: base,
  /** A one-minute smoke run. */
  small: { ...base, preset: 'small', train: 128, val: 64, test: 128, epochs: 3 },
  /** The paper's setting: ResNet-34 on 96×96 faces, batch 256 (hours on a CPU; meant for the GPU backend). */
  paper: {
    ...base,
    preset: 'paper',
    train: 8192,
    test: 2048,
    size: 96,
    epochs: 30,
    batch: 256,
    arch: 'resnet34',
    width: 64,
    lr: 1e-3,
    val: 1024,
  },
}

const spec = {
  preset: flag.oneOf(['default', 'small', 'paper'] as const),
  train: flag.positiveInt,
  val: flag.nonNegativeInt,
  test: flag.positiveInt,
  size: flag.positiveInt,
  epochs: flag.positiveInt,
  batch: flag.positiveInt,
  arch: flag.oneOf(['small', 'resnet18', 'resnet34'] as const),
  width: flag.positiveInt,
  lr: flag.positiveNumber,
  gamma: flag.nonNegativeNumber,
  'svd-rank': flag.positiveInt,
  'ada-weight': flag.nonNegativeNumber,
  'hard-layers': flag.nonNegativeInt,
  runs: flag.listOf(runKinds),
  seed: flag.int,
  intensity: flag.nonNegativeNumber,
  log: flag.string,
  out: flag.string,
  resume: flag.string,
  'checkpoint-every': flag.nonNegativeInt,
  'best-metric': flag.oneOf(bestMetrics),
  backend: flag.oneOf(['cpu', 'gpu', 'auto', 'ref'] as const),
  help: flag.oneOf(['true'] as const),
}

export const usage = `usage: npm start -- [--preset default|small|paper] [--epochs N] [--train N] [--val N] [--test N] [--batch N]
  [--size PX] [--arch small|resnet18|resnet34] [--width W] [--lr X] [--gamma X] [--svd-rank K]
  [--ada-weight X] [--hard-layers K] [--runs ${runKinds.join(',')}] [--seed N] [--intensity X] [--log FILE.jsonl] [--out RUNS_DIR]
  [--checkpoint-every STEPS] [--best-metric ${bestMetrics.join('|')}] [--resume RUNS_DIR/RUN_ID]
  [--backend cpu|gpu|auto|ref]`

/** Preset first, then flags on top; Left with every bad flag's message. */
export const parseQuickstart = (argv: readonly string[]): { ok: true; config: QuickstartConfig } | { ok: false; errors: string[] } => {
  const args = argv.map((a) => (a === '--help' || a === '-h' ? '--help=true' : a))
  const r = parseFlags(args, spec)
  if (isLeft(r)) return { ok: false, errors: r.left }
  const f = r.right
  if (f.help) return { ok: false, errors: [] }
  const p = presets[f.preset ?? 'default']
  const config: QuickstartConfig = {
    ...p,
    ...(f.train !== undefined ? { train: f.train } : {}),
    ...(f.val !== undefined ? { val: f.val } : {}),
    ...(f.test !== undefined ? { test: f.test } : {}),
    ...(f.size !== undefined ? { size: f.size } : {}),
    ...(f.epochs !== undefined ? { epochs: f.epochs } : {}),
    ...(f.batch !== undefined ? { batch: f.batch } : {}),
    ...(f.arch !== undefined ? { arch: f.arch } : {}),
    ...(f.width !== undefined ? { width: f.width } : {}),
    ...(f.lr !== undefined ? { lr: f.lr } : {}),
    ...(f.gamma !== undefined ? { gamma: f.gamma } : {}),
    ...(f['svd-rank'] !== undefined ? { svdRank: f['svd-rank'] } : {}),
    ...(f['ada-weight'] !== undefined ? { adaWeight: f['ada-weight'] } : {}),
    ...(f['hard-layers'] !== undefined ? { hardLayers: f['hard-layers'] } : {}),
    ...(f.runs !== undefined ? { runs: f.runs } : {}),
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
    ...(f.intensity !== undefined ? { intensity: f.intensity } : {}),
    ...(f.log !== undefined ? { log: f.log } : {}),
    ...(f.out !== undefined ? { out: f.out } : {}),
    ...(f.resume !== undefined ? { resume: f.resume } : {}),
    ...(f['checkpoint-every'] !== undefined ? { checkpointEvery: f['checkpoint-every'] } : {}),
    ...(f['best-metric'] !== undefined ? { bestMetric: f['best-metric'] } : {}),
    ...(f.backend !== undefined ? { backend: f.backend } : {}),
  }
  const errors: string[] = []
  if (config.size < 16) errors.push(`--size: expected at least 16 pixels, got ${config.size}`)
  if (config.batch > config.train) errors.push(`--batch: expected at most --train (${config.train}), got ${config.batch}`)
  if (config.val === 0 && config.bestMetric.startsWith('val_'))
    errors.push(`--best-metric: ${config.bestMetric} needs a validation split (--val > 0), got --val 0`)
  return errors.length ? { ok: false, errors } : { ok: true, config }
}

/** The metric and direction that pick `best.safetensors`. */
export const bestOf = (c: Pick<QuickstartConfig, 'val' | 'bestMetric'>): { metric: BestMetric; mode: 'min' | 'max' } => {
  const metric = c.bestMetric || (c.val > 0 ? 'val_err' : 'loss')
  return { metric, mode: metric === 'val_acc' ? 'max' : 'min' }
}

/** The library's experiment config of a quickstart config (one γ for all three norms, as the quickstart always had). */
export const toExperimentConfig = (c: QuickstartConfig): ExperimentConfig => ({
  ...defaultExperiment,
  seed: c.seed,
  backend: c.backend,
  runs: c.runs,
  train: c.train,
  val: c.val,
  test: c.test,
  size: c.size,
  intensity: c.intensity,
  arch: c.arch,
  width: c.width,
  epochs: c.epochs,
  batch: c.batch,
  lr: c.lr,
  gamma: { laf: c.gamma, tucker: c.gamma, tt: c.gamma },
  svdRank: c.svdRank,
  hardLayers: c.hardLayers,
  adaWeight: c.adaWeight,
})
