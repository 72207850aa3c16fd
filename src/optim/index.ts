/**
 * Optimisers as pure functions over parameter trees: `init(params) → state`,
 * `update(state, grads, params) → { params, state }`. The update math is emitted as graph ops, so it runs
 * on the backend in the same `run` as the forward and backward passes (no extra host round trip).
 */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { add, div, mul, pow, sqrt, sub } from '../ops/elementwise.ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { leaves, type Tree, treeMap, unflatten } from '../tensor/tree.ts'

/** A parameter tree (records/arrays of tensors); typed loosely so interfaces without index signatures fit. */
export type Params = unknown

/** A pure optimiser over trees; `S` is its state tree (leaves are host tensors after `run`). */
export interface Optimizer<S> {
  readonly name: string
  init(params: Params): S
  /**
   * One step; `lr` overrides the configured learning rate (for schedules driven by the caller): a number, or a
   * scalar tensor (a compiled step's per-step argument).
   */
  update(state: S, grads: Params, params: Params, lr?: TensorLike): { params: Tree<Tensor>; state: S }
}

export interface SgdConfig {
  readonly lr: number
  /** Heavy-ball momentum μ (0 = plain SGD). */
  readonly momentum?: number
  /** Coupled L2 decay, added to the gradient of weights (leaves of rank ≥ 2: not biases or batch-norm γ/β). */
  readonly weightDecay?: number
  readonly nesterov?: boolean
}
export interface SgdState<L = TensorLike> {
  readonly velocity: Tree<L>
}

const zerosOf = (p: TensorLike): HostTensor => {
  const t = lift(p)
  return fromData(new Float32Array(t.shape.reduce((a, d) => a * d, 1)), t.shape)
}

const checkHyper = (op: string, name: string, v: number | undefined, lo: number, hi: number): void => {
  if (v !== undefined && !(Number.isFinite(v) && v >= lo && v < hi))
    throw new RangeError(`${op}: ${name} must be in [${lo}, ${hi}), got ${v}`)
}

/** Zips three trees of one structure leaf by leaf (flattened, so params and grads may mix tensor kinds). */
const zip3 = <R>(a: unknown, b: unknown, c: unknown, f: (x: TensorLike, y: TensorLike, z: TensorLike) => R, op: string): R[] => {
  const la = leaves(a as Tree<TensorLike>)
  const lb = leaves(b as Tree<TensorLike>)
  const lc = leaves(c as Tree<TensorLike>)
  if (la.length !== lb.length || la.length !== lc.length)
    throw new TypeError(`${op}: trees differ: ${la.length} state leaves, ${lb.length} gradients, ${lc.length} parameters`)
  return la.map((x, i) => f(x, lb[i], lc[i]))
}

/** SGD with momentum and weight decay: v ← μv + g + λw;  w ← w − lr·(nesterov ? g + λw + μv : v). */
export const sgd = (c: SgdConfig): Optimizer<SgdState> => {
  checkHyper('sgd', 'lr', c.lr, 0, Infinity)
  checkHyper('sgd', 'momentum', c.momentum, 0, 1)
  checkHyper('sgd', 'weightDecay', c.weightDecay, 0, Infinity)
  const mu = c.momentum ?? 0
  const wd = c.weightDecay ?? 0
  return {
    name: 'sgd',
    init: (params) => ({ velocity: treeMap(params as Tree<TensorLike>, zerosOf) }),
    update: (state, grads, params, lr = c.lr) => {
      const out = zip3(
        state.velocity,
        grads,
        params,
        (v, g, w) => {
          const wt = lift(w)
          const gd = wd > 0 && wt.shape.length >= 2 ? add(g, mul(wt, wd)) : lift(g)
          const vn = mu > 0 ? add(mul(v, mu), gd) : gd
          const step = c.nesterov && mu > 0 ? add(gd, mul(vn, mu)) : vn
          return [sub(wt, mul(step, lr)), vn] as const
        },
        'sgd.update',
      )
      return {
        params: unflatten(
          params as Tree<TensorLike>,
          out.map((o) => o[0]),
        ),
        state: {
          velocity: unflatten(
            params as Tree<TensorLike>,
            out.map((o) => o[1]),
          ),
        },
      }
    },
  }
}

export interface AdamConfig {
  readonly lr: number
  readonly beta1?: number
  readonly beta2?: number
  readonly eps?: number
  /** Decoupled weight decay (AdamW) on weights of rank ≥ 2. */
  readonly weightDecay?: number
}
export interface AdamState<L = TensorLike> {
  readonly m: Tree<L>
  readonly v: Tree<L>
  /** Step count (scalar), kept as a tensor so bias correction runs in the graph. */
  readonly count: L
}

/** Adam (Kingma & Ba) with bias correction; AdamW-style decoupled decay when weightDecay > 0. */
export const adam = (c: AdamConfig): Optimizer<AdamState> => {
  checkHyper('adam', 'lr', c.lr, 0, Infinity)
  checkHyper('adam', 'beta1', c.beta1, 0, 1)
  checkHyper('adam', 'beta2', c.beta2, 0, 1)
  const b1 = c.beta1 ?? 0.9
  const b2 = c.beta2 ?? 0.999
  const eps = c.eps ?? 1e-8
  const wd = c.weightDecay ?? 0
  return {
    name: 'adam',
    init: (params) => ({
      m: treeMap(params as Tree<TensorLike>, zerosOf),
      v: treeMap(params as Tree<TensorLike>, zerosOf),
      count: fromData(new Float32Array([0]), []),
    }),
    update: (state, grads, params, lr = c.lr) => {
      const t = add(state.count, 1)
      const c1 = sub(1, pow(b1, t))
      const c2 = sub(1, pow(b2, t))
      const ms = leaves(state.m)
      const out = zip3(state.v, grads, params, (v, g, w) => ({ v, g, w }), 'adam.update').map(({ v, g, w }, i) => {
        const m1 = add(mul(ms[i], b1), mul(g, 1 - b1))
        const v1 = add(mul(v, b2), mul(mul(g, g), 1 - b2))
        const upd = div(div(m1, c1), add(sqrt(div(v1, c2)), eps))
        const wt = lift(w)
        const decayed = wd > 0 && wt.shape.length >= 2 ? sub(wt, mul(wt, typeof lr === 'number' ? lr * wd : mul(lr, wd))) : wt
        return [sub(decayed, mul(upd, lr)), m1, v1] as const
      })
      return {
        params: unflatten(
          params as Tree<TensorLike>,
          out.map((o) => o[0]),
        ),
        state: {
          m: unflatten(
            params as Tree<TensorLike>,
            out.map((o) => o[1]),
          ),
          v: unflatten(
            params as Tree<TensorLike>,
            out.map((o) => o[2]),
          ),
          count: t,
        },
      }
    },
  }
}

/** Learning rate schedules: pure functions of the step (0-based) and the total number of steps. */
export const schedules = {
  constant:
    (lr: number) =>
    (_step: number, _total: number): number =>
      lr,
  /** Cosine decay from lr to lr·floor over the run. */
  cosine:
    (lr: number, floor = 0) =>
    (step: number, total: number): number =>
      lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, total)) / Math.max(1, total)))),
}
