import type { Attrs, Elementwise } from '../graph/graph.ts'
import type { HostTensor } from '../tensor/host.ts'
import type { Shape } from '../tensor/shape.ts'

/** What `has` looks at: a primitive's name and, for elementwise primitives, its formula. */
export interface OpRef {
  readonly name: string
  readonly elementwise?: Elementwise
}

/** What a backend needs to know about one node: no gradients, no graph, just a kernel request. */
export interface KernelCall {
  readonly op: string
  readonly elementwise?: Elementwise
  readonly attrs: Attrs
  readonly inShapes: readonly Shape[]
  readonly outShape: Shape
}

/**
 * A backend owns device buffers of type B. `exec` may return a Promise (WebGPU has no synchronous
 * readback); synchronous backends return buffers directly and set `sync`, which enables `runSync`.
 * Buffers passed to `exec` are never mutated by it; the executor calls `release` after a buffer's last use.
 */
export interface Backend<B = unknown> {
  readonly name: string
  readonly sync: boolean
  /**
   * Whether a kernel exists for this primitive (the executor reports missing ones clearly). Every backend
   * answers yes to an elementwise primitive: its kernel is generated from the row's `expr`.
   */
  has(op: OpRef): boolean
  upload(t: HostTensor): B
  exec(call: KernelCall, inputs: readonly B[]): B | Promise<B>
  read(b: B, shape: Shape): HostTensor | Promise<HostTensor>
  release(b: B): void
  /** Lets go of whatever the backend keeps for a host tensor it returned (a compiled call's donated argument); reading its data afterwards may throw. */
  donate?(h: HostTensor): void
  /** Most input buffers one kernel may bind (bounds elementwise fusion); unbounded when absent. */
  readonly maxKernelInputs?: number
  /** Reading back is a device round-trip (gpu on WebGPU): training keeps its state resident there (`ResidentTensor`). */
  readonly deviceMemory?: boolean
  /** Live buffers and compiled kernels, for leak tests and diagnostics. */
  stats(): { readonly liveBuffers: number; readonly compiledKernels: number }
}

/** A kernel of a host-memory backend (ref, cpu): typed arrays in, a fresh typed array out. */
export type HostKernel<D> = (ins: readonly D[], call: KernelCall) => D

/** Error for a missing kernel, naming op and backend. */
export const missingKernel = (backend: string, op: string): Error => new Error(`${backend} backend: no kernel for op '${op}'`)

/**
 * A tensor kept in a backend's memory between runs (JAX-style device arrays): `run` binds it as an input without an
 * upload and returns an output as one when asked (`RunOptions.keep`). It is a host tensor for trees and shapes, but
 * its `data` is on the device: `readResident` copies it back, `releaseResident` frees it (the owner's job).
 */
export interface ResidentTensor extends HostTensor {
  readonly resident: { readonly backend: Backend<any>; readonly buffer: unknown; released: boolean }
}

/** Whether a value is a resident tensor. */
export const isResident = (x: unknown): x is ResidentTensor =>
  typeof x === 'object' && x !== null && (x as { resident?: unknown }).resident !== undefined && (x as HostTensor).kind === 'host'

/** Wraps a backend buffer of `shape` as a resident tensor (the caller hands over its one reference). */
export const residentTensor = (backend: Backend<any>, buffer: unknown, shape: Shape): ResidentTensor => {
  const t = {
    kind: 'host' as const,
    shape: [...shape],
    resident: { backend, buffer, released: false },
    get data(): never {
      throw new Error(
        `resident tensor [${shape.join(',')}] is on the '${backend.name}' backend: read it back with readResident (or the step's readback) first`,
      )
    },
  }
  return t
}

/** Copies a resident tensor to the host (one read-back); host tensors are returned as they are. */
export const readResident = async (t: HostTensor): Promise<HostTensor> => {
  if (!isResident(t)) return t
  if (t.resident.released) throw new Error(`readResident: tensor [${t.shape.join(',')}] was released`)
  return await t.resident.backend.read(t.resident.buffer, t.shape)
}

/** Frees a resident tensor's buffer (idempotent); host tensors are left alone. */
export const releaseResident = (t: HostTensor): void => {
  if (!isResident(t) || t.resident.released) return
  t.resident.released = true
  t.resident.backend.release(t.resident.buffer)
}
