import { type Backend, isResident, type ResidentTensor, residentTensor } from '../backend/backend.ts'
import { type HostTensor, isHost } from '../tensor/host.ts'
import { fmt } from '../tensor/shape.ts'
import { leaves, type Tree, unflatten } from '../tensor/tree.ts'
import { isTensor, type Tensor } from '../graph/graph.ts'
import { fusedPrim, fuseElementwise } from '../graph/fuse.ts'
import { topoSort } from '../graph/graph.ts'

export interface RunOptions {
  /** The backend that runs the kernels (reuse one instance: it caches compiled kernels). By name: the package entry's `run`. */
  readonly backend: Backend<any>
  /** Read back every intermediate and report the first op that produced a NaN or ±Inf (slow; for debugging). */
  readonly checkNumerics?: boolean
  /** Fuse elementwise chains into one kernel where the backend has a `fused` kernel (default true; off under checkNumerics). */
  readonly fuse?: boolean
  /** Outputs returned as resident tensors (their buffers stay on the backend, owned by the caller) instead of read back. */
  readonly keep?: ReadonlySet<Tensor>
}

/** Thrown by `checkNumerics` runs: names the op, its shapes and attributes. */
export class NumericsError extends Error {
  override name = 'NumericsError'
}

export type Results<T> = T extends Tensor | HostTensor
  ? HostTensor
  : T extends readonly unknown[]
    ? { [K in keyof T]: Results<T[K]> }
    : T extends object
      ? { [K in keyof T]: Results<T[K]> }
      : T

/**
 * The executor, written once as a generator: it yields whatever a backend returned asynchronously,
 * and `run` awaits those while `runSync` insists there are none.
 */
function* execute(outputs: unknown, opts: RunOptions): Generator<unknown, unknown, unknown> {
  const be = opts.backend
  const outLeaves = leaves(outputs as Tree<Tensor | HostTensor>)
  const requested = outLeaves.filter(isTensor)
  // fusion rewrites the graph; `remap` sends each requested output to the node that computes it
  const fuse = opts.fuse !== false && !opts.checkNumerics && be.has(fusedPrim)
  const { order, remap } = fuse
    ? fuseElementwise(topoSort(requested), new Set(requested), be.maxKernelInputs)
    : { order: topoSort(requested), remap: new Map<Tensor, Tensor>() }
  const outTensors = requested.map((t) => remap.get(t) ?? t)
  for (const t of order)
    if (t.inputs.length > 0 && !t.prim.alias && !be.has(t.prim))
      throw new Error(`run: backend '${be.name}' has no kernel for op '${t.prim.name}'`)
  // pending uses per node; a buffer is released when the uses of every node sharing it are done
  const uses = new Map<Tensor, number>()
  for (const t of order) for (const i of t.inputs) uses.set(i, (uses.get(i) ?? 0) + 1)
  const held = new Set(outTensors)
  const value = new Map<Tensor, unknown>()
  const bufUses = new Map<unknown, number>()
  const uploaded = new Map<HostTensor, unknown>()
  // buffers of resident inputs belong to the caller: never released here, returned as the same tensor when kept
  const external = new Map<unknown, ResidentTensor>()
  const bind = (t: Tensor, buf: unknown): void => {
    value.set(t, buf)
    bufUses.set(buf, (bufUses.get(buf) ?? 0) + (uses.get(t) ?? 0) + (held.has(t) ? 1 : 0))
  }
  const consume = (buf: unknown): void => {
    const n = (bufUses.get(buf) ?? 0) - 1
    bufUses.set(buf, n)
    if (n <= 0 && !external.has(buf)) {
      bufUses.delete(buf)
      for (const [h, b] of uploaded) if (b === buf) uploaded.delete(h)
      be.release(buf)
    }
  }
  for (const t of order) {
    if (t.inputs.length === 0) {
      if (!t.value) throw new Error(`run: leaf op '${t.prim.name}' has no value`)
      if (isResident(t.value)) {
        const r = t.value.resident
        if (r.backend !== be || r.released)
          throw new Error(
            `run: input resident tensor ${fmt(t.shape)} ${r.released ? 'was released' : `lives on another '${r.backend.name}' backend instance, not on '${be.name}'`}`,
          )
        external.set(r.buffer, t.value)
        bind(t, r.buffer)
        continue
      }
      let buf = uploaded.get(t.value)
      if (buf === undefined) {
        buf = be.upload(t.value)
        uploaded.set(t.value, buf)
      }
      bind(t, buf)
      continue
    }
    const ins = t.inputs.map((i) => value.get(i))
    let out: unknown
    if (t.prim.alias) out = ins[0]
    else {
      out = be.exec(
        { op: t.prim.name, elementwise: t.prim.elementwise, attrs: t.attrs, inShapes: t.inputs.map((i) => i.shape), outShape: t.shape },
        ins,
      )
      if (out instanceof Promise) out = yield out
      if (opts.checkNumerics) {
        let host = be.read(out, t.shape)
        if (host instanceof Promise) host = (yield host) as HostTensor
        const data = (host as HostTensor).data
        const bad = data.findIndex((v) => !Number.isFinite(v))
        if (bad >= 0)
          throw new NumericsError(
            `checkNumerics: op '${t.prim.name}' produced ${data[bad]} at flat index ${bad} of output ${fmt(t.shape)} ` +
              `(inputs ${t.inputs.map((i) => `${i.prim.name}${fmt(i.shape)}`).join(', ')}; attrs ${JSON.stringify(t.attrs)})`,
          )
      }
    }
    bind(t, out)
    // inputs are consumed after the output is bound, so an alias keeps its buffer alive
    for (const i of t.inputs) consume(value.get(i))
  }
  const results: HostTensor[] = []
  const kept = new Map<unknown, ResidentTensor>(external)
  for (const o of outLeaves) {
    if (isHost(o)) {
      results.push(o)
      continue
    }
    if (opts.keep?.has(o)) {
      const buf = value.get(remap.get(o) ?? o)
      let r = kept.get(buf)
      if (!r) {
        r = residentTensor(be, buf, o.shape)
        kept.set(buf, r)
      }
      results.push(r)
      continue
    }
    let h = be.read(value.get(remap.get(o) ?? o), o.shape)
    if (h instanceof Promise) h = (yield h) as HostTensor
    results.push(h as HostTensor)
  }
  for (const o of held) if (!kept.has(value.get(o))) consume(value.get(o))
  return unflatten(outputs as Tree<Tensor | HostTensor>, results)
}

/** Evaluates a tree of symbolic tensors on a backend; resolves to the same tree of host tensors. */
export const run = async <T>(outputs: T, opts: RunOptions): Promise<Results<T>> => {
  const g = execute(outputs, opts)
  let r = g.next()
  while (!r.done) r = g.next(await r.value)
  return r.value as Results<T>
}

/** Synchronous `run` for synchronous backends (ref, cpu): for tests, debugging and host-side loops. */
export const runSync = <T>(outputs: T, opts: RunOptions): Results<T> => {
  const backend = opts.backend
  if (!backend.sync) throw new Error(`runSync: backend '${backend.name}' is asynchronous; use run()`)
  const g = execute(outputs, opts)
  const r = g.next()
  if (!r.done) throw new Error(`runSync: backend '${backend.name}' returned a Promise`)
  return r.value as Results<T>
}
