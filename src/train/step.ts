/**
 * A training step as a pure async function `(state, batch) → state & metrics`: trace the loss, differentiate,
 * emit the optimiser update as graph ops, and evaluate everything in one `run` on the backend. With `compile`,
 * the plan of the first step of each shape signature serves the later ones (no tracing, differentiation,
 * fusion or kernel selection per step).
 */
import { isTensor, lift, type Tensor } from '../graph/graph.ts'
import { remember, signature } from '../autodiff/compile.ts'
import { drive, execute, type Plan, plan, run } from '../autodiff/run.ts'
import { vjp } from '../autodiff/vjp.ts'
import { type Backend, isResident, readResident, releaseResident } from '../backend/backend.ts'
import { onesLike } from '../ops/elementwise.ts'
import type { Optimizer } from '../optim/index.ts'
import { fromData, type HostTensor, isHost } from '../tensor/host.ts'
import { foldIn, type Key } from '../tensor/prng.ts'
import { leaves, type Tree, unflatten } from '../tensor/tree.ts'

/** Everything a step carries from one batch to the next (host tensors between steps). */
export interface TrainState<P = unknown, S = unknown, O = unknown> {
  readonly params: P
  /** Non-trainable model state (batch-norm running statistics). */
  readonly modelState: S
  readonly opt: O
  /** Steps taken so far. */
  readonly step: number
  /** The run's PRNG key: each step gets `foldIn(key, step)` as `ctx.key` (dropout, sketches), so a resumed run draws the same numbers. */
  readonly key?: Key
}

/** What the user's loss function returns: the scalar to minimise, scalar metrics, and the next model state. */
export interface LossOutput<S> {
  readonly loss: Tensor
  readonly metrics?: Readonly<Record<string, Tensor>>
  readonly modelState?: S
}

/**
 * Per-step context: the step index, so schedules (learning rate, ADA λ) are functions of progress. In a compiled
 * step, reading `step` or `key` ties the trace to its step (it is traced again at the next one, as without
 * `compile`); a schedule through `scalar` keeps one plan for every step.
 */
export interface StepContext {
  readonly step: number
  /** `foldIn(state.key, step)` when the state carries a key. */
  readonly key?: Key
  /**
   * `f(step)`, computed on the host in float64 at every step, as a scalar tensor (a schedule's value: ADA λ, a
   * warm-up factor). The same graph as `lift(f(step))`; a compiled step passes it as an argument of its plan.
   */
  readonly scalar: (f: (step: number) => number) => Tensor
}

export interface StepConfig<B, S> {
  /** Traced at the current parameters; must be pure. */
  readonly loss: (params: any, batch: B, modelState: S, ctx: StepContext) => LossOutput<unknown>
  readonly optimizer: Optimizer<any>
  readonly backend: Backend<any>
  /** Learning rate at a step (default: the optimiser's own). */
  readonly lr?: (step: number) => number
  /**
   * Keep parameters, optimiser and model state on the backend between steps as resident tensors (only the metrics are
   * read back). Default: where reading back is a device round-trip (`backend.deviceMemory`, gpu on WebGPU). The caller
   * frees an old state with `releaseState(old, next)` and gets host tensors with `readbackState` (`fit` does both).
   */
  readonly resident?: boolean
  /**
   * Trace once per shape signature of (params, model state, optimiser state, batch) and rerun that plan at later
   * steps with their tensors and `scalar` values (jax.jit's contract: whatever else the loss computes on the host
   * is fixed at trace time). Results are bit-identical to traced steps. A trace that reads `ctx.step` or `ctx.key`
   * is not reused. Default false.
   */
  readonly compile?: boolean
}

export type StepResult<P, S> = TrainState<P, S> & { readonly metrics: Readonly<Record<string, number>> }

/**
 * Builds the step function; metrics always include `loss`. Its `diagnose` reruns a step under `checkNumerics`;
 * `traces()` counts the loss's traces.
 */
export const trainStep = <B, P, S>(c: StepConfig<B, S>) => {
  const resident = c.resident ?? !!c.backend.deviceMemory
  let traces = 0
  const trace = (state: TrainState<P, S>, batch: B, ctx: StepContext) => {
    traces++
    let aux: LossOutput<unknown> | undefined
    const { out, vjp: back } = vjp((p: any) => {
      aux = c.loss(p, batch, state.modelState, ctx)
      return aux.loss
    }, state.params)
    if (out.shape.length !== 0) throw new TypeError(`trainStep: the loss must be a scalar, got shape [${out.shape.join(',')}]`)
    const grads = back(onesLike(out)) as Tree<Tensor>
    const lr = c.lr ? ctx.scalar(c.lr) : undefined
    const upd = c.optimizer.update(state.opt, grads, state.params, lr)
    const names = Object.keys(aux!.metrics ?? {})
    const outputs = {
      params: upd.params,
      opt: upd.state,
      modelState: aux!.modelState ?? state.modelState,
      metrics: [out, ...names.map((n) => aux!.metrics![n])],
    }
    const keep = resident ? new Set(leaves([outputs.params, outputs.opt, outputs.modelState] as Tree<unknown>).filter(isTensor)) : undefined
    return { outputs, names, ...(keep ? { keep } : {}) }
  }
  /** A schedule's value at a step, checked (a NaN learning rate or λ would poison the state silently). */
  const valueAt = (f: (step: number) => number, step: number): number => {
    const v = f(step)
    if (!Number.isFinite(v))
      throw new RangeError(
        `trainStep: ${f === c.lr ? 'the learning rate schedule' : 'a ctx.scalar schedule'} returned ${v} at step ${step}`,
      )
    return v
  }
  const hostScalar = (v: number): HostTensor => fromData(new Float64Array([v]), [])
  /** The context of a trace at `state.step`; `read` is set once the loss reads the step or its key. */
  const contextAt = (state: TrainState<P, S>, onScalar?: (f: (step: number) => number, h: HostTensor) => void) => {
    const read = { step: false }
    const ctx: StepContext = {
      get step() {
        read.step = true
        return state.step
      },
      get key() {
        read.step = true
        return state.key ? foldIn(state.key, state.step) : undefined
      },
      scalar: (f) => {
        const h = hostScalar(valueAt(f, state.step))
        onScalar?.(f, h)
        return lift(h)
      },
    }
    return { ctx, read }
  }
  const finish = async (state: TrainState<P, S>, names: readonly string[], r: any): Promise<StepResult<P, S>> => {
    const values = (r.metrics as HostTensor[]).map((m) => m.data[0])
    const metrics: Record<string, number> = { loss: values[0] }
    names.forEach((n, i) => {
      metrics[n] = values[i + 1]
    })
    // other fields of the state (its key, the caller's own) ride along unchanged
    return { ...state, params: r.params as P, modelState: r.modelState as S, opt: r.opt, step: state.step + 1, metrics }
  }
  const runTrace = async (state: TrainState<P, S>, t: ReturnType<typeof trace>) =>
    finish(state, t.names, await run(t.outputs, { backend: c.backend, ...(t.keep ? { keep: t.keep } : {}) }))
  const traced = async (state: TrainState<P, S>, batch: B) => runTrace(state, trace(state, batch, contextAt(state).ctx))
  // compiled: per signature, the plan, the metric names, the schedules whose values are its last arguments, and
  // whether a second step's trace captured the same host values (a loss that computes on the host from its batch,
  // e.g. a host one-hot of the labels, would bake the first batch into the plan: such a signature is traced every step)
  type Compiled = { plan: Plan; names: readonly string[]; scalars: readonly ((step: number) => number)[]; checked: boolean }
  const plans = new Map<string, Compiled | 'traced'>()
  const warned = { capture: false }
  const compiled = async (state: TrainState<P, S>, batch: B): Promise<StepResult<P, S>> => {
    const { hosts, key } = signature({ params: state.params, modelState: state.modelState, opt: state.opt, batch }, 'trainStep')
    const cached = plans.get(key)
    if (cached === 'traced') return traced(state, batch)
    const opts = { backend: c.backend }
    if (cached?.checked) {
      const args = [...hosts, ...cached.scalars.map((f) => hostScalar(valueAt(f, state.step)))]
      return finish(state, cached.names, await drive(execute(cached.plan, opts, args)))
    }
    const scalars: ((step: number) => number)[] = []
    const scalarHosts: HostTensor[] = []
    const { ctx, read } = contextAt(state, (f, h) => {
      scalars.push(f)
      scalarHosts.push(h)
    })
    const t = trace(state, batch, ctx)
    if (read.step) {
      remember(plans, key, 'traced')
      return runTrace(state, t)
    }
    const args = [...hosts, ...scalarHosts]
    const p = plan(t.outputs, { ...opts, ...(t.keep ? { keep: t.keep } : {}) }, new Map(args.map((h, i) => [h, i])))
    if (cached) {
      const changed = capturedChange(cached.plan, p)
      if (changed) {
        if (!warned.capture)
          console.warn(
            `trainStep: compile: the loss computed a host value from the step's inputs (${changed}); this signature is traced every ` +
              'step instead. Compute it with graph ops (e.g. the oneHot op) or a ctx.scalar schedule to keep one plan.',
          )
        warned.capture = true
        remember(plans, key, 'traced')
        return runTrace(state, t)
      }
    }
    remember(plans, key, { plan: p, names: t.names, scalars, checked: cached !== undefined })
    return finish(state, t.names, await drive(execute(p, opts, args)))
  }
  const step = c.compile ? compiled : traced
  const diagnose = async (state: TrainState<P, S>, batch: B): Promise<string> => {
    try {
      await run(trace(state, batch, contextAt(state).ctx).outputs, { backend: c.backend, checkNumerics: true })
      return 'every op gave finite values on the rerun'
    } catch (e) {
      return e instanceof Error ? e.message : String(e)
    }
  }
  /**
   * Lets go of the memory of `old`'s tensors that `next` does not carry (nor `keep` lists): resident ones are freed,
   * and untouched results of the cpu backend are donated (freed in WASM memory at once instead of when the garbage
   * collector finds them; their `data` throws from then on). For a state this step made and nobody reads again.
   */
  const release = (old: unknown, next: unknown, keep: ReadonlySet<unknown> = new Set()): void => {
    const carried = new Set([...leaves(next as Tree<unknown>), ...keep])
    for (const l of leaves(old as Tree<unknown>))
      if (carried.has(l)) continue
      else if (isResident(l)) releaseResident(l)
      else if (isHost(l)) c.backend.donate?.(l)
  }
  /** How many times the loss has been traced: every step (and diagnosis) without `compile`, twice per signature with it. */
  return Object.assign(step, { diagnose, release, traces: () => traces })
}

/** The first host value captured at trace time (not an argument) that differs between two plans of one signature. */
const capturedChange = (a: Plan, b: Plan): string | undefined => {
  const captured = (p: Plan) => p.nodes.flatMap((n) => ('leaf' in n && typeof n.leaf !== 'number' ? [n.leaf] : []))
  const ca = captured(a)
  const cb = captured(b)
  if (a.nodes.length !== b.nodes.length || ca.length !== cb.length) return 'the graph itself changed'
  for (let i = 0; i < ca.length; i++)
    if (ca[i].shape.join() !== cb[i].shape.join() || ca[i].data.some((v, j) => !Object.is(v, cb[i].data[j])))
      return `a constant of shape [${ca[i].shape.join(',')}] changed`
  return undefined
}

/** Whether any leaf of a state tree is a resident tensor. */
export const hasResident = (state: unknown): boolean => leaves(state as Tree<unknown>).some(isResident)

/** The same tree with every resident tensor read back to the host (one read-back each); a host-only tree is returned as is. */
export const readbackState = async <T>(state: T): Promise<T> => {
  if (!hasResident(state)) return state
  const ls = leaves(state as Tree<unknown>)
  const host = await Promise.all(ls.map((l) => (isResident(l) ? readResident(l) : l)))
  return unflatten(state as Tree<unknown>, host) as T
}

/** Frees the resident tensors of `state` that `next` does not carry on (a step's old state once the new one exists). */
export const releaseState = (state: unknown, next?: unknown): void => {
  const carried = new Set(next === undefined ? [] : leaves(next as Tree<unknown>))
  for (const l of leaves(state as Tree<unknown>)) if (isResident(l) && !carried.has(l)) releaseResident(l)
}
