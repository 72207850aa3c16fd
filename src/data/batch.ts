/**
 * Shuffling and batching of in-memory data sets. A data set is a record of host tensors that share their
 * leading axis N (e.g. `{ x: [N,48,48,1], y: [N] }`); everything here is a pure function of its inputs and
 * an explicit key.
 */
import { fromData, type HostTensor } from '../tensor/host.ts'
import { foldIn, type Key, permutation } from '../tensor/prng.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'

/** Fields sharing the leading axis N. */
export type Dataset = Readonly<Record<string, HostTensor>>

/** One step of an epoch loop. */
export interface Step<D extends Dataset> {
  epoch: number
  step: number // index of the batch within its epoch
  batch: D
}

/** Number of examples N of a data set; throws naming the fields when their leading axes differ. */
export const datasetSize = (ds: Dataset, op = 'datasetSize'): number => {
  const names = Object.keys(ds)
  if (names.length === 0) throw new ShapeError(`${op}: data set has no fields`)
  const n = ds[names[0]].shape[0]
  for (const name of names) {
    const s = ds[name].shape
    if (s.length === 0 || s[0] !== n)
      throw new ShapeError(`${op}: field '${name}' has shape ${fmt(s)}, expected leading axis ${n} (from '${names[0]}')`)
  }
  return n
}

/** Gathers rows `indices` of every field: [N, ...] -> [indices.length, ...]. */
export const take = <D extends Dataset>(ds: D, indices: readonly number[]): D => {
  const n = datasetSize(ds, 'take')
  for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`take: index ${i} out of range [0, ${n})`)
  const out: Record<string, HostTensor> = {}
  for (const [name, t] of Object.entries(ds)) {
    const row = n > 0 ? t.data.length / n : 0
    const data = new (t.data.constructor as Float32ArrayConstructor)(indices.length * row)
    for (let k = 0; k < indices.length; k++) data.set(t.data.subarray(indices[k] * row, (indices[k] + 1) * row), k * row)
    out[name] = fromData(data, [indices.length, ...t.shape.slice(1)])
  }
  return out as D
}

/** Options of `batches` and `epochs`. */
export interface BatchOptions {
  batchSize: number
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean
}

const checkBatchSize = (op: string, b: number): void => {
  if (!Number.isInteger(b) || b < 1) throw new RangeError(`${op}: batchSize must be a positive integer, got ${b}`)
}

/** Splits into batches in a key-shuffled order (or in order when key is null). */
export const batches = <D extends Dataset>(k: Key | null, ds: D, options: BatchOptions): D[] => {
  const { batchSize, dropLast = false } = options
  checkBatchSize('batches', batchSize)
  const n = datasetSize(ds, 'batches')
  const order = k === null ? Array.from({ length: n }, (_, i) => i) : permutation(k, n)
  const out: D[] = []
  for (let s = 0; s < n; s += batchSize) {
    if (dropLast && s + batchSize > n) break
    out.push(take(ds, order.slice(s, s + batchSize)))
  }
  return out
}

/**
 * Lazily yields the batches of `epochs` passes over the data, reshuffled each epoch with
 * `foldIn(key, epoch)`, so epoch e is the same whichever epoch the loop starts from.
 */
export function* epochs<D extends Dataset>(k: Key, ds: D, options: BatchOptions & { epochs: number }): Generator<Step<D>> {
  if (!Number.isInteger(options.epochs) || options.epochs < 0)
    throw new RangeError(`epochs: epochs must be a non-negative integer, got ${options.epochs}`)
  checkBatchSize('epochs', options.batchSize)
  for (let e = 0; e < options.epochs; e++) {
    const bs = batches(foldIn(k, e), ds, options)
    for (let s = 0; s < bs.length; s++) yield { epoch: e, step: s, batch: bs[s] }
  }
}

/** Number of batches per epoch. */
export const batchesPerEpoch = (n: number, options: BatchOptions): number =>
  options.dropLast ? Math.floor(n / options.batchSize) : Math.ceil(n / options.batchSize)

/** Shuffled split into `{ train, test }` with round(testFraction·N) test examples. */
export const trainTestSplit = <D extends Dataset>(k: Key, ds: D, testFraction: number): { train: D; test: D } => {
  if (!(testFraction >= 0 && testFraction <= 1)) throw new RangeError(`trainTestSplit: testFraction must be in [0, 1], got ${testFraction}`)
  const n = datasetSize(ds, 'trainTestSplit')
  const p = permutation(k, n)
  const m = Math.round(testFraction * n)
  return { train: take(ds, p.slice(m)), test: take(ds, p.slice(0, m)) }
}

/** One-hot encoding of class indices: [N] -> [N, classes]. */
export const oneHot = (labels: HostTensor, classes: number): HostTensor => {
  if (labels.shape.length !== 1) throw new ShapeError(`oneHot: labels must have shape [N], got ${fmt(labels.shape)}`)
  const n = labels.shape[0]
  const out = new Float32Array(n * classes)
  for (let i = 0; i < n; i++) {
    const c = labels.data[i]
    if (!Number.isInteger(c) || c < 0 || c >= classes)
      throw new RangeError(`oneHot: label ${i} is ${c}, expected an integer in [0, ${classes})`)
    out[i * classes + c] = 1
  }
  return fromData(out, [n, classes])
}
