/**
 * The configuration of one experiment (one seed, one data set, any number of runs that share them), as an
 * io-ts codec: the same value comes from a JSON file, from flags, or from a grid job, and is checked once.
 */
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/** Sharing schemes of the paper's Table 4 (hard = the first `hardLayers` conv+BN units). */
export const sharingKinds = ['single', 'hard', 'cross-stitch', 'laf', 'tucker', 'tt'] as const
export type SharingKind = (typeof sharingKinds)[number]
/** A run is a sharing scheme, optionally with `+ada` (adversarial domain alignment on the pooled features). */
export type RunKind = SharingKind | `${SharingKind}+ada`
/** Every run name, each scheme followed by its `+ada` variant. */
export const runKinds: readonly RunKind[] = sharingKinds.flatMap((s): RunKind[] => [s, `${s}+ada`])

const literalUnion = <const C extends readonly string[]>(xs: C): t.Type<C[number]> =>
  t.keyof(Object.fromEntries(xs.map((x) => [x, null])) as Record<C[number], null>, `one of ${xs.join(', ')}`)

const PosInt = t.refinement(t.number, (v) => Number.isInteger(v) && v > 0, 'a positive integer')
const NonNegInt = t.refinement(t.number, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer')
const Int = t.refinement(t.number, (v) => Number.isInteger(v), 'an integer')
const PosNum = t.refinement(t.number, (v) => Number.isFinite(v) && v > 0, 'a positive number')
const NonNegNum = t.refinement(t.number, (v) => Number.isFinite(v) && v >= 0, 'a non-negative number')
const Shift = t.refinement(t.number, (v) => Number.isFinite(v) && v >= 0 && v <= 3, 'a number in [0, 3]')
const Prob = t.refinement(t.number, (v) => Number.isFinite(v) && v >= 0 && v <= 1, 'a probability in [0, 1]')

export const RunKindCodec = literalUnion(runKinds as readonly RunKind[]) as t.Type<RunKind>

/** io-ts codec of `ExperimentConfig` (same name as the type). */
export const ExperimentConfig = t.readonly(
  t.type({
    /** Seeds the data, the initialisation and the batch order (one experiment = one seed). */
    seed: Int,
    /** Where the kernels run; resolved by the caller (`softshare/node`'s `backendFor`). */
    backend: literalUnion(['cpu', 'gpu', 'auto', 'ref'] as const),
    runs: t.readonlyArray(RunKindCodec),
    /** Faces per task: training, validation (γ selection; 0 = none) and test. */
    train: PosInt,
    val: NonNegInt,
    test: PosInt,
    /** Image side in pixels (≥ 16). */
    size: PosInt,
    /** Expression intensity (1 = subtle). */
    intensity: NonNegNum,
    /** Rendering distance of the landmark domain B from the expression domain A (see `FaceOptions.domainShift`). */
    domainShift: Shift,
    /** Probability of an occluder on a landmark-domain face. */
    occlusion: Prob,
    /** 'subtle': 13 states on domain A; 'strong': 7 basic expressions on domain C (the transfer set). */
    expressions: literalUnion(['subtle', 'strong'] as const),
    /** k-fold cross-validation of the expression set (0 = the plain train/test split) and the fold held out. */
    folds: NonNegInt,
    fold: NonNegInt,
    arch: literalUnion(['small', 'resnet18', 'resnet34'] as const),
    width: PosInt,
    epochs: PosInt,
    batch: PosInt,
    lr: PosNum,
    landmarkLoss: literalUnion(['l1', 'l2'] as const),
    /** Trace-norm strength per norm (one γ for all conv layers and, for Tucker/TT, all unfoldings). */
    gamma: t.readonly(t.type({ laf: NonNegNum, tucker: NonNegNum, tt: NonNegNum })),
    /** Randomized-SVD rank for Tucker/TT unfoldings whose short side exceeds it by 10 (smaller ones are exact). */
    svdRank: PosInt,
    /** Conv+BN units shared by `hard`. */
    hardLayers: NonNegInt,
    /** Weight of the ADA domain loss (λ on the 2/(1+e^{−10p}) − 1 schedule). */
    adaWeight: NonNegNum,
  }),
  'ExperimentConfig',
)
export type ExperimentConfig = t.TypeOf<typeof ExperimentConfig>

/**
 * The quickstart's default setting: 2048 training, 256 validation (per-epoch metrics, `best` checkpoints) and 256
 * test faces per task at 48×48, small ResNet (width 8), 6 epochs, Adam 6e-3. The validation faces come after
 * the training and test ones, so adding or removing them leaves the training and test data unchanged.
 */
export const defaultExperiment: ExperimentConfig = {
  seed: 0,
  backend: 'cpu',
  runs: ['single', 'laf', 'laf+ada'],
  train: 2048,
  val: 256,
  test: 256,
  size: 48,
  intensity: 1,
  domainShift: 1,
  occlusion: 0,
  expressions: 'subtle',
  folds: 0,
  fold: 0,
  arch: 'small',
  width: 8,
  epochs: 6,
  batch: 32,
  lr: 6e-3,
  landmarkLoss: 'l1',
  gamma: { laf: 1e-2, tucker: 1e-2, tt: 1e-2 },
  svdRank: 16,
  hardLayers: 3,
  adaWeight: 0.1,
}

const describe = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s
}

/** Cross-field checks the codec cannot express; one message per problem. */
export const checkExperiment = (c: ExperimentConfig): string[] => {
  const e: string[] = []
  if (c.size < 16) e.push(`size: expected at least 16 pixels, got ${c.size}`)
  if (c.batch > c.train) e.push(`batch: expected at most train (${c.train}), got ${c.batch}`)
  if (c.runs.length === 0) e.push('runs: expected at least one run')
  if (c.folds === 1) e.push('folds: expected 0 (no cross-validation) or at least 2, got 1')
  if (c.folds > 0 && c.fold >= c.folds) e.push(`fold: expected an integer in [0, ${c.folds}), got ${c.fold}`)
  return e
}

/**
 * Decodes an unknown value (parsed JSON) over `base` (missing fields come from it): Left lists each bad field as
 * `field: expected …, got …`, and unknown fields too (a typo fails loudly).
 */
export const decodeExperimentConfig = (u: unknown, base: ExperimentConfig = defaultExperiment): Either<string[], ExperimentConfig> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return left([`config: expected a JSON object, got ${describe(u)}`])
  const known = new Set(Object.keys(base))
  const unknown = Object.keys(u).filter((k) => !known.has(k))
  if (unknown.length) return left(unknown.map((k) => `${k}: unknown field (known: ${[...known].join(', ')})`))
  const merged = { ...base, ...(u as object) }
  const r = ExperimentConfig.decode(merged)
  if (isLeft(r))
    return left(
      r.left.map((err) => {
        const path = err.context
          .slice(1)
          .map((c) => c.key)
          .filter((k) => k !== '')
          .join('.')
        const last = err.context[err.context.length - 1]
        return `${path || 'config'}: expected ${err.message ?? last.type.name}, got ${describe(err.value)}`
      }),
    )
  const extra = checkExperiment(r.right)
  return extra.length ? left(extra) : right(r.right)
}
