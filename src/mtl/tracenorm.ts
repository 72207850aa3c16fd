/**
 * Tensor trace norms of Hu et al. 2018 (Sec. 2.2) on stacked task weights: LAF (Eq. 1), Tucker (Eq. 2)
 * and TT (Eq. 3), each a weighted sum of nuclear norms of unfoldings, so their gradients are sums of
 * folded U Vᵀ subgradients. SVD options (exact / randomized) pass through to `nuclearNorm`.
 */
import { constant, lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { drawsSketch, nuclearNorm, nuclearNormOfColumns, type SvdOptions } from '../linalg/index.ts'
import { add, mul } from '../ops/elementwise.ts'
import { reshape, stack } from '../ops/shape.ts'
import { fromData } from '../tensor/host.ts'
import { checkKey, split } from '../tensor/prng.ts'
import { fmt, ShapeError, shapesEqual, sizeOf } from '../tensor/shape.ts'
import { modeUnfold, ttUnfold } from './unfold.ts'

/** Stacks T same-shape task weights on a new last axis: T × [D…] → [D…, T] (conv HWIO → [kh, kw, cin, cout, T]). */
export const stackTasks = (ws: readonly TensorLike[]): Tensor => {
  if (ws.length === 0) throw new ShapeError('stackTasks: needs at least one task weight')
  const ts = ws.map(lift)
  ts.forEach((t) => {
    if (t.shape.length !== ts[0].shape.length || t.shape.some((d, i) => d !== ts[0].shape[i]))
      throw new ShapeError(`stackTasks: task weights differ in shape: ${ts.map((u) => fmt(u.shape)).join(' vs ')}`)
  })
  return stack(ts, ts[0].shape.length)
}

/** γ must be a finite number ≥ 0: a negative γ would turn the regulariser into a reward for spreading tasks apart. */
const validGamma = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

const weights = (op: string, gammas: number | readonly number[], n: number): number[] => {
  const g = typeof gammas === 'number' ? new Array<number>(n).fill(gammas) : Array.isArray(gammas) ? [...gammas] : undefined
  if (!g || g.length !== n || !g.every(validGamma))
    throw new ShapeError(`${op}: expected ${n} finite weights γ ≥ 0 (or one number), got ${describe(gammas)}`)
  return g
}

const describe = (v: unknown): string =>
  typeof v === 'string' ? `the string '${v}'` : Number.isNaN(v) ? 'NaN' : (JSON.stringify(v) ?? String(v))

/**
 * A matrix with the nuclear norm of W_(i): the last axis's flattening is used transposed, W_(N)ᵀ =
 * reshape(W, [∏others, D_N]), a free reshape instead of a data transpose (‖Xᵀ‖* = ‖X‖*, gradients fold back alike).
 */
const modeMatrix = (t: Tensor, i: number): Tensor => (i === t.shape.length - 1 ? ttUnfold(t, i) : modeUnfold(t, i))

/** Each unfolding gets its own sketch key (independent Gaussian sketches). */
const keyed = (op: string, opts: SvdOptions, n: number): SvdOptions[] => {
  if (!opts.key) return new Array<SvdOptions>(n).fill(opts)
  checkKey(op, opts.key, 'opts.key')
  return split(opts.key, n).map((key) => ({ ...opts, key }))
}

/** γ as a float64 scalar: a plain number would be lifted to float32 and cost the ref oracle 7 digits. */
const scalar = (g: number): Tensor => constant(fromData(new Float64Array([g]), []))

const weightedSum = (terms: readonly Tensor[], g: readonly number[]): Tensor =>
  terms.map((t, i) => mul(t, scalar(g[i]))).reduce((acc, t) => add(acc, t))

/**
 * The task weights a stack on the last axis was built from (`stackTasks(ws)` is concat(expandDims(wᵢ, −1), −1)),
 * or undefined for any other tensor: LAF then reads the weights where they are instead of a stacked copy.
 */
const stackedTasks = (t: Tensor): Tensor[] | undefined => {
  const last = t.shape.length - 1
  if (t.prim.name !== 'concat' || t.attrs.axis !== last) return undefined
  const ws = t.inputs.map((e) =>
    e.prim.name === 'reshape' && e.shape[last] === 1 && shapesEqual(e.inputs[0].shape, t.shape.slice(0, last)) ? e.inputs[0] : undefined,
  )
  return ws.every((w) => w !== undefined) ? (ws as Tensor[]) : undefined
}

/**
 * LAF (Eq. 1): γ‖W_(N)‖*, the last (task) axis against all others: [D…, T] → []. Exact thin path by default: for
 * T ≤ thinMax (8) a float64 Gram of the T task columns and U Vᵀ = W (WᵀW)^{+½}; on a `stackTasks` result it reads
 * the task weights in place (one pass for the Gram, one fused pass per task for the gradient).
 */
export const laf = (w: TensorLike, gamma = 1, opts: SvdOptions = {}): Tensor => {
  const t = lift(w)
  if (t.shape.length < 2) throw new ShapeError(`laf: expects a stacked tensor of rank ≥ 2, got ${fmt(t.shape)}`)
  if (!validGamma(gamma)) throw new ShapeError(`laf: γ must be one finite number ≥ 0, got ${describe(gamma)}`)
  const tasks = t.shape[t.shape.length - 1]
  const method = opts.method ?? 'auto'
  const ws = stackedTasks(t)
  const exact = method === 'exact' || (method === 'auto' && (tasks <= (opts.thinMax ?? 8) || opts.rank === undefined))
  const norm =
    ws && exact && tasks <= 32
      ? nuclearNormOfColumns(
          ws.map((x) => reshape(x, [sizeOf(x.shape), 1])),
          opts,
        )
      : nuclearNorm(modeMatrix(t, t.shape.length - 1), opts)
  return mul(norm, scalar(gamma))
}

/** Tucker (Eq. 2): Σᵢ γᵢ‖W_(i)‖* over all N mode flattenings: [D…] → []. */
export const tucker = (w: TensorLike, gammas: number | readonly number[] = 1, opts: SvdOptions = {}): Tensor => {
  const t = lift(w)
  const n = t.shape.length
  if (n < 2) throw new ShapeError(`tucker: expects a tensor of rank ≥ 2, got ${fmt(t.shape)}`)
  const g = weights('tucker', gammas, n)
  const o = keyed('tucker', opts, n)
  return weightedSum(
    t.shape.map((_, i) => nuclearNorm(modeMatrix(t, i), o[i])),
    g,
  )
}

/** TT (Eq. 3): Σ_{i<N} γᵢ‖W_[i]‖* over the N − 1 tensor-train unfoldings: [D…] → []. */
export const tt = (w: TensorLike, gammas: number | readonly number[] = 1, opts: SvdOptions = {}): Tensor => {
  const t = lift(w)
  const n = t.shape.length
  if (n < 2) throw new ShapeError(`tt: expects a tensor of rank ≥ 2, got ${fmt(t.shape)}`)
  const g = weights('tt', gammas, n - 1)
  const o = keyed('tt', opts, n - 1)
  return weightedSum(
    Array.from({ length: n - 1 }, (_, i) => nuclearNorm(ttUnfold(t, i + 1), o[i])),
    g,
  )
}

/**
 * The matrix shapes whose nuclear norms a trace norm of a [D…] tensor sums: LAF one (the last axis against the
 * others), Tucker one per mode, TT the N − 1 train unfoldings.
 */
export const unfoldingShapes = (shape: readonly number[], norm: 'laf' | 'tucker' | 'tt'): number[][] => {
  const all = shape.reduce((a, d) => a * d, 1)
  if (norm === 'laf') return [[all / shape[shape.length - 1], shape[shape.length - 1]]]
  if (norm === 'tucker') return shape.map((d) => [d, all / d])
  return shape.slice(1).map((_, i) => {
    const left = shape.slice(0, i + 1).reduce((a, d) => a * d, 1)
    return [left, all / left]
  })
}

/** Whether a trace norm of a [D…] tensor under `opts` draws randomized-SVD sketches (then it needs `opts.key`). */
export const traceNormDrawsSketch = (shape: readonly number[], norm: 'laf' | 'tucker' | 'tt', opts: SvdOptions): boolean =>
  unfoldingShapes(shape, norm).some((s) => drawsSketch(s, opts))
