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
  /** Live buffers and compiled kernels, for leak tests and diagnostics. */
  stats(): { readonly liveBuffers: number; readonly compiledKernels: number }
}

/** A kernel of a host-memory backend (ref, cpu): typed arrays in, a fresh typed array out. */
export type HostKernel<D> = (ins: readonly D[], call: KernelCall) => D

/** Error for a missing kernel, naming op and backend. */
export const missingKernel = (backend: string, op: string): Error => new Error(`${backend} backend: no kernel for op '${op}'`)
