/**
 * A training step as a pure async function `(state, batch) → state & metrics`: trace the loss, differentiate,
 * emit the optimiser update as graph ops, and evaluate everything in one `run` on the backend.
 */
import { isTensor, type Tensor } from '../graph/graph.ts'
import { run } from '../autodiff/run.ts'
import { vjp } from '../autodiff/vjp.ts'
import { type Backend, isResident, readResident, releaseResident } from '../backend/backend.ts'
import { onesLike } from '../ops/elementwise.ts'
import type { Optimizer } from '../optim/index.ts'
import type { HostTensor } from '../tensor/host.ts'
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

/** Per-step context: the step index, so schedules (learning rate, ADA λ) are functions of progress. */
export interface StepContext {
  readonly step: number
  /** `foldIn(state.key, step)` when the state carries a key. */
  readonly key?: Key
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
}

export type StepResult<P, S> = TrainState<P, S> & { readonly metrics: Readonly<Record<string, number>> }

/** Builds the step function; metrics always include `loss`. Its `diagnose` reruns a step under `checkNumerics`. */
export const trainStep = <B, P, S>(c: StepConfig<B, S>) => {
  const resident = c.resident ?? !!c.backend.deviceMemory
  const trace = (state: TrainState<P, S>, batch: B) => {
    let aux: LossOutput<unknown> | undefined
    const { out, vjp: back } = vjp((p: any) => {
      aux = c.loss(p, batch, state.modelState, { step: state.step, ...(state.key ? { key: foldIn(state.key, state.step) } : {}) })
      return aux.loss
    }, state.params)
    if (out.shape.length !== 0) throw new TypeError(`trainStep: the loss must be a scalar, got shape [${out.shape.join(',')}]`)
    const grads = back(onesLike(out)) as Tree<Tensor>
    const lr = c.lr?.(state.step)
    if (lr !== undefined && !Number.isFinite(lr))
      throw new RangeError(`trainStep: the learning rate schedule returned ${lr} at step ${state.step}`)
    const upd = c.optimizer.update(state.opt, grads, state.params, lr)
    const names = Object.keys(aux!.metrics ?? {})
    const outputs = {
      params: upd.params,
      opt: upd.state,
      modelState: aux!.modelState ?? state.modelState,
      metrics: [out, ...names.map((n) => aux!.metrics![n])],
    }
    return { outputs, names }
  }
  const step = async (state: TrainState<P, S>, batch: B): Promise<StepResult<P, S>> => {
    const { outputs, names } = trace(state, batch)
    const keep = resident ? new Set(leaves([outputs.params, outputs.opt, outputs.modelState] as Tree<unknown>).filter(isTensor)) : undefined
    const r = (await run(outputs, { backend: c.backend, ...(keep ? { keep } : {}) })) as any
    const values = (r.metrics as HostTensor[]).map((m) => m.data[0])
    const metrics: Record<string, number> = { loss: values[0] }
    names.forEach((n, i) => {
      metrics[n] = values[i + 1]
    })
    // other fields of the state (its key, the caller's own) ride along unchanged
    return { ...state, params: r.params as P, modelState: r.modelState as S, opt: r.opt, step: state.step + 1, metrics }
  }
  const diagnose = async (state: TrainState<P, S>, batch: B): Promise<string> => {
    try {
      await run(trace(state, batch).outputs, { backend: c.backend, checkNumerics: true })
      return 'every op gave finite values on the rerun'
    } catch (e) {
      return e instanceof Error ? e.message : String(e)
    }
  }
  return Object.assign(step, { diagnose })
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
