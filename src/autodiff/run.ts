import { type Backend, isResident, type KernelCall, type ResidentTensor, residentTensor } from '../backend/backend.ts'
import { type HostTensor, isHost } from '../tensor/host.ts'
import { fmt, type Shape } from '../tensor/shape.ts'
import { leaves, type Tree, treeMap, unflatten } from '../tensor/tree.ts'
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

/** A leaf of a plan: host data captured at trace time, or (compiled functions) the index of an argument. */
type PlanLeaf = HostTensor | number

/**
 * A graph lowered for one backend: fused, checked for kernels, and flattened to node indices (inputs before
 * users), so running it again needs no graph walk. It holds no traced nodes: a cached plan keeps only its
 * kernel calls and captured constants alive, never the arguments of the call that traced it.
 */
export interface Plan {
  /** Per node: the leaf it reads, or the kernel call with its input node indices. */
  readonly nodes: readonly (
    | { readonly leaf: PlanLeaf }
    | { readonly call: KernelCall; readonly ins: readonly number[]; readonly alias: boolean; readonly inNames: readonly string[] }
  )[]
  /** Per node: consumers plus one when it is an output (its buffer lives until then). */
  readonly uses: readonly number[]
  /** Per output leaf: a node index, or a host leaf passed through. */
  readonly outs: readonly ({ readonly node: number; readonly shape: Shape; readonly keep?: boolean } | { readonly leaf: PlanLeaf })[]
  /** Output nodes, each once. */
  readonly held: readonly number[]
  /** The outputs' tree with placeholder leaves. */
  readonly skeleton: Tree<HostTensor>
}

const SLOT: HostTensor = { kind: 'host', shape: [], data: new Float32Array(1) }

/**
 * Lowers a tree of symbolic tensors for `opts.backend`. `argOf` names the host tensors that are arguments of a
 * compiled function (they become argument indices, read from each call's arguments).
 */
export const plan = (outputs: unknown, opts: RunOptions, argOf?: ReadonlyMap<HostTensor, number>): Plan => {
  const be = opts.backend
  const outLeaves = leaves(outputs as Tree<Tensor | HostTensor>)
  const requested = outLeaves.filter(isTensor)
  // fusion rewrites the graph; `remap` sends each requested output to the node that computes it
  const fuse = opts.fuse !== false && !opts.checkNumerics && be.has(fusedPrim)
  const { order, remap } = fuse
    ? fuseElementwise(topoSort(requested), new Set(requested), be.maxKernelInputs)
    : { order: topoSort(requested), remap: new Map<Tensor, Tensor>() }
  for (const t of order)
    if (t.inputs.length > 0 && !t.prim.alias && !be.has(t.prim))
      throw new Error(`run: backend '${be.name}' has no kernel for op '${t.prim.name}'`)
  const index = new Map<Tensor, number>(order.map((t, i) => [t, i]))
  const leafOf = (h: HostTensor): PlanLeaf => argOf?.get(h) ?? h
  const uses = order.map(() => 0)
  const nodes: Plan['nodes'][number][] = order.map((t) => {
    if (t.inputs.length === 0) {
      if (!t.value) throw new Error(`run: leaf op '${t.prim.name}' has no value`)
      return { leaf: leafOf(t.value) }
    }
    const ins = t.inputs.map((i) => index.get(i)!)
    for (const i of ins) uses[i]++
    const call: KernelCall = {
      op: t.prim.name,
      elementwise: t.prim.elementwise,
      attrs: t.attrs,
      inShapes: t.inputs.map((i) => i.shape),
      outShape: t.shape,
    }
    return { call, ins, alias: t.prim.alias === true, inNames: t.inputs.map((i) => i.prim.name) }
  })
  const held = [...new Set(requested.map((t) => index.get(remap.get(t) ?? t)!))]
  for (const h of held) uses[h]++
  const outs = outLeaves.map((o) =>
    isHost(o) ? { leaf: leafOf(o) } : { node: index.get(remap.get(o) ?? o)!, shape: o.shape, ...(opts.keep?.has(o) ? { keep: true } : {}) },
  )
  return { nodes, uses, outs, held, skeleton: treeMap(outputs as Tree<Tensor | HostTensor>, () => SLOT) }
}

/**
 * The executor, written once as a generator: it yields whatever a backend returned asynchronously,
 * and `run` awaits those while `runSync` insists there are none. `args`: the host tensors of a compiled call.
 */
export function* execute(p: Plan, opts: RunOptions, args: readonly HostTensor[] = []): Generator<unknown, unknown, unknown> {
  const be = opts.backend
  const host = (l: PlanLeaf): HostTensor => (typeof l === 'number' ? args[l] : l)
  // pending uses per buffer: nodes may share one (aliases, one upload per host tensor); released after the last
  const value: unknown[] = new Array(p.nodes.length)
  const bufUses = new Map<unknown, number>()
  const uploaded = new Map<HostTensor, unknown>()
  // buffers of resident inputs belong to the caller: never released here, returned as the same tensor when kept
  const external = new Map<unknown, ResidentTensor>()
  const bind = (i: number, buf: unknown): void => {
    value[i] = buf
    bufUses.set(buf, (bufUses.get(buf) ?? 0) + p.uses[i])
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
  for (let i = 0; i < p.nodes.length; i++) {
    const node = p.nodes[i]
    if ('leaf' in node) {
      const h = host(node.leaf)
      if (isResident(h)) {
        const r = h.resident
        if (r.backend !== be || r.released)
          throw new Error(
            `run: input resident tensor ${fmt(h.shape)} ${r.released ? 'was released' : `lives on another '${r.backend.name}' backend instance, not on '${be.name}'`}`,
          )
        external.set(r.buffer, h)
        bind(i, r.buffer)
        continue
      }
      let buf = uploaded.get(h)
      if (buf === undefined) {
        buf = be.upload(h)
        uploaded.set(h, buf)
      }
      bind(i, buf)
      continue
    }
    const ins = node.ins.map((j) => value[j])
    let out: unknown
    if (node.alias) out = ins[0]
    else {
      out = be.exec(node.call, ins)
      if (out instanceof Promise) out = yield out
      if (opts.checkNumerics) {
        let h = be.read(out, node.call.outShape)
        if (h instanceof Promise) h = (yield h) as HostTensor
        const data = (h as HostTensor).data
        const bad = data.findIndex((v) => !Number.isFinite(v))
        if (bad >= 0)
          throw new NumericsError(
            `checkNumerics: op '${node.call.op}' produced ${data[bad]} at flat index ${bad} of output ${fmt(node.call.outShape)} ` +
              `(inputs ${node.inNames.map((n, k) => `${n}${fmt(node.call.inShapes[k])}`).join(', ')}; attrs ${JSON.stringify(node.call.attrs)})`,
          )
      }
    }
    bind(i, out)
    // inputs are consumed after the output is bound, so an alias keeps its buffer alive
    for (const j of node.ins) consume(value[j])
  }
  const results: HostTensor[] = []
  const kept = new Map<unknown, ResidentTensor>(external)
  for (const o of p.outs) {
    if ('leaf' in o) {
      results.push(host(o.leaf))
      continue
    }
    if (o.keep) {
      const buf = value[o.node]
      let r = kept.get(buf)
      if (!r) {
        r = residentTensor(be, buf, o.shape)
        kept.set(buf, r)
      }
      results.push(r)
      continue
    }
    let h = be.read(value[o.node], o.shape)
    if (h instanceof Promise) h = (yield h) as HostTensor
    results.push(h as HostTensor)
  }
  for (const o of p.held) if (!kept.has(value[o])) consume(value[o])
  return unflatten(p.skeleton, results)
}

/** Drives the executor, awaiting what an asynchronous backend returns. */
export const drive = async (g: Generator<unknown, unknown, unknown>): Promise<unknown> => {
  let r = g.next()
  while (!r.done) r = g.next(await r.value)
  return r.value
}

/** Drives the executor of a synchronous backend; `who` names the caller in the error. */
export const driveSync = (g: Generator<unknown, unknown, unknown>, backend: Backend<any>, who: string): unknown => {
  const r = g.next()
  if (!r.done) throw new Error(`${who}: backend '${backend.name}' returned a Promise`)
  return r.value
}

/** Evaluates a tree of symbolic tensors on a backend; resolves to the same tree of host tensors. */
export const run = async <T>(outputs: T, opts: RunOptions): Promise<Results<T>> =>
  (await drive(execute(plan(outputs, opts), opts))) as Results<T>

/** Synchronous `run` for synchronous backends (ref, cpu): for tests, debugging and host-side loops. */
export const runSync = <T>(outputs: T, opts: RunOptions): Results<T> => {
  if (!opts.backend.sync) throw new Error(`runSync: backend '${opts.backend.name}' is asynchronous; use run()`)
  return driveSync(execute(plan(outputs, opts), opts), opts.backend, 'runSync') as Results<T>
}
