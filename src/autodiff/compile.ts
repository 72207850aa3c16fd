/**
 * Compiled functions: trace once per argument signature, then rerun the cached plan (fused graph, kernel
 * calls, buffer lifetimes) with each call's arguments. The second call with the same shapes skips tracing,
 * differentiation, fusion planning and kernel selection; it runs the same kernels in the same order, so its
 * results are bit-identical to a `run` of a fresh trace.
 *
 * The contract is jax.jit's: the function is traced with the argument host tensors as graph leaves, so
 * anything it computes on the host (numbers, data read from the arguments, closed-over values, the step of a
 * schedule) is captured at trace time and reused by every later call of that signature. Numbers in the
 * argument tree are part of the signature (a new value traces anew).
 *
 * `donate` (jax.jit's donate_argnums): the arguments the caller will not read again, typically the old training
 * state. After the call the backend lets go of what it kept for them (cpu: their resident WASM blocks, so a
 * step's parameters never leave WASM memory); reading a donated resident tensor's data afterwards throws.
 */
import { isHost, type HostTensor } from '../tensor/host.ts'
import { fmt } from '../tensor/shape.ts'
import { leaves, type Tree } from '../tensor/tree.ts'
import { drive, driveSync, execute, type Plan, plan, type Results, type RunOptions } from './run.ts'

export type CompileOptions<A> = RunOptions & {
  /** Picks the argument subtree to donate (default: none). */
  readonly donate?: (args: A) => unknown
}

/** Plans kept per compiled function (a new signature past this evicts the oldest). */
export const MAX_PLANS = 8

/** Caches `v` under `k`, evicting the oldest entry once `MAX_PLANS` are kept. */
export const remember = <V>(cache: Map<string, V>, k: string, v: V): V => {
  if (cache.size >= MAX_PLANS) cache.delete(cache.keys().next().value!)
  cache.set(k, v)
  return v
}

/** A compiled function: `(args) → Promise<results>`, plus `sync` for synchronous backends and trace counts. */
export interface Compiled<A, T> {
  (args: A): Promise<Results<T>>
  /** The same call on a synchronous backend (cpu, ref). */
  readonly sync: (args: A) => Results<T>
  /** How many times the function has been traced so far (once per new signature). */
  readonly traces: () => number
}

/**
 * The argument leaves and their signature: shapes (never the data: a resident result stays untouched), numbers by
 * value, and which leaves are one object. `who` names the caller in the error for a leaf of another kind.
 */
export const signature = (args: unknown, who = 'compile'): { hosts: HostTensor[]; key: string } => {
  const ls = leaves(args as Tree<unknown>)
  const hosts: HostTensor[] = []
  const first = new Map<HostTensor, number>()
  const parts = ls.map((l, i) => {
    if (typeof l === 'number') return `n${l}`
    if (!isHost(l)) throw new TypeError(`${who}: argument leaf ${i} is not a host tensor or number (got ${typeof l})`)
    const seen = first.get(l)
    if (seen !== undefined) return `=${seen}`
    first.set(l, hosts.length)
    hosts.push(l)
    return fmt(l.shape)
  })
  return { hosts, key: parts.join(' ') }
}

/**
 * `compile(f, opts)`: f maps a tree of host tensors (and numbers) to a tree of symbolic tensors; the result
 * evaluates it on `opts.backend`, tracing f only for a signature it has not seen.
 */
export const compile = <A, T>(f: (args: A) => T, opts: CompileOptions<A>): Compiled<A, T> => {
  const plans = new Map<string, Plan>()
  let traces = 0
  const lower = (args: A): { p: Plan; hosts: HostTensor[] } => {
    const { hosts, key } = signature(args)
    let p = plans.get(key)
    if (!p) {
      traces++
      p = remember(plans, key, plan(f(args), opts, new Map(hosts.map((h, i) => [h, i]))))
    }
    return { p, hosts }
  }
  /** Donates the chosen arguments, except those returned as results (passed through). */
  const donate = <R>(args: A, results: R): R => {
    const be = opts.backend
    if (!opts.donate || !be.donate) return results
    const kept = new Set(leaves(results as Tree<unknown>))
    for (const h of leaves(opts.donate(args) as Tree<unknown>)) if (isHost(h) && !kept.has(h)) be.donate(h)
    return results
  }
  const call = async (args: A): Promise<Results<T>> => {
    const { p, hosts } = lower(args)
    return donate(args, (await drive(execute(p, opts, hosts))) as Results<T>)
  }
  const sync = (args: A): Results<T> => {
    if (!opts.backend.sync)
      throw new Error(`compile: backend '${opts.backend.name}' is asynchronous; call the compiled function, not .sync`)
    const { p, hosts } = lower(args)
    return donate(args, driveSync(execute(p, opts, hosts), opts.backend, 'compile') as Results<T>)
  }
  return Object.assign(call, { sync, traces: () => traces })
}
