/**
 * The data of an experiment: an expression set (domain A, 13 subtle states; or domain C, 7 strong basic
 * expressions) and a disjoint landmark set (domain B), each split into train / validation / test, with the
 * landmark targets standardised against the training set.
 */
import { basicExpressionNames, expressionTask, generateFaces, landmarkTask, NUM_EXPRESSIONS } from '../data/synthetic-faces.ts'
import { take } from '../data/batch.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { foldIn, key, split } from '../tensor/prng.ts'
import type { ExperimentConfig } from './config.ts'

export type TaskData = { readonly x: HostTensor; readonly y: HostTensor }
export interface TaskSplits {
  readonly train: TaskData
  readonly val: TaskData
  readonly test: TaskData
}

/**
 * Landmark targets are standardised against the training set's mean shape (so a zero output predicts the mean
 * face) and the residuals' standard deviation (so the l1 loss has the scale of the cross-entropy).
 */
export interface LandmarkNorm {
  readonly mean: Float32Array
  readonly std: number
}

export interface ExperimentData {
  /** Expression task: x [N,S,S,1], y class indices [N]. */
  readonly expr: TaskSplits
  /** Landmark task: x [N,S,S,1], y standardised landmarks [N,136]. */
  readonly lm: TaskSplits
  readonly norm: LandmarkNorm
  readonly classes: number
  /** 1 for test landmark faces in the challenging tail (`Faces.challenging`): [test N]. */
  readonly challengingTest: Uint8Array
  /** The settings the data was made from (a shared data value is checked against a run's config). */
  readonly from: string
}

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i)

/** Mean shape and residual std of the first n rows of landmark targets [N,136]. */
export const landmarkNorm = (y: HostTensor, n: number): LandmarkNorm => {
  const mean = new Float32Array(136)
  for (let i = 0; i < n; i++) for (let j = 0; j < 136; j++) mean[j] += y.data[i * 136 + j] / n
  let ss = 0
  for (let i = 0; i < n; i++) for (let j = 0; j < 136; j++) ss += (y.data[i * 136 + j] - mean[j]) ** 2
  return { mean, std: Math.sqrt(ss / (n * 136)) }
}
/** (y − mean) / std row-wise: [N,136] → [N,136]. */
export const standardise = (y: HostTensor, m: LandmarkNorm): HostTensor =>
  fromData(
    Float32Array.from(y.data, (v, i) => (v - m.mean[i % 136]) / m.std),
    y.shape,
  )
/** Back to image-normalised coordinates: flat [N·136] → flat [N·136]. */
export const unstandardise = (y: ArrayLike<number>, m: LandmarkNorm): Float32Array =>
  Float32Array.from(y, (v, i) => v * m.std + m.mean[i % 136])

/** The data-defining fields of a config (two configs with the same key can share one ExperimentData). */
export const dataKey = (c: ExperimentConfig): string =>
  JSON.stringify([c.seed, c.train, c.val, c.test, c.size, c.intensity, c.domainShift, c.occlusion, c.expressions, c.folds, c.fold])

/** Generates and splits the two tasks' faces of a config (pure in the config: the seed keys everything). */
export const makeExperimentData = (c: ExperimentConfig, onProgress?: (done: number, total: number) => void): ExperimentData => {
  const n = c.train + c.val + c.test
  const part = (offset: number) => onProgress && ((done: number) => onProgress(offset + done, 2 * n))
  const [ka, kb] = split(key(c.seed))
  const strong = c.expressions === 'strong'
  // the expression pool: the plain split, or k folds over train+test (validation stays the last c.val faces)
  const fa = generateFaces(
    strong ? foldIn(ka, 7) : ka,
    {
      n,
      size: c.size,
      domain: strong ? 'C' : 'A',
      intensity: c.intensity,
      classes: strong ? 'basic7' : 'subtle13',
    },
    part(0),
  )
  const fb = generateFaces(
    kb,
    { n, size: c.size, domain: 'B', intensity: c.intensity, domainShift: c.domainShift, occlusion: c.occlusion },
    part(n),
  )
  const ea = expressionTask(fa)
  let trainIdx = range(0, c.train)
  let testIdx = range(c.train, c.train + c.test)
  if (c.folds > 0) {
    const pool = c.train + c.test
    const lo = Math.floor((c.fold * pool) / c.folds)
    const hi = Math.floor(((c.fold + 1) * pool) / c.folds)
    testIdx = range(lo, hi)
    trainIdx = [...range(0, lo), ...range(hi, pool)]
  }
  const valIdx = range(c.train + c.test, n)
  const lmB = landmarkTask(fb)
  const norm = landmarkNorm(lmB.y, c.train)
  const lmStd = { x: lmB.x, y: standardise(lmB.y, norm) }
  const lmTest = range(c.train, c.train + c.test)
  return {
    expr: { train: take(ea, trainIdx), val: take(ea, valIdx), test: take(ea, testIdx) },
    lm: { train: take(lmStd, range(0, c.train)), val: take(lmStd, valIdx), test: take(lmStd, lmTest) },
    norm,
    classes: strong ? basicExpressionNames.length : NUM_EXPRESSIONS,
    challengingTest: Uint8Array.from(lmTest, (i) => fb.challenging[i]),
    from: dataKey(c),
  }
}
