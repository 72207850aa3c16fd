import { fromData, type HostTensor, isHost } from '../tensor/host.ts'
import { fmt, type Shape, ShapeError } from '../tensor/shape.ts'

/** Attributes of a node: plain JSON-like data (they key the kernel cache). */
export type Attrs = Readonly<Record<string, unknown>>

/**
 * A symbolic tensor: one node of a trace. Ops on tensors append nodes; no numbers move until `run`.
 * Identity is object identity (no global counters).
 */
export interface Tensor {
  readonly kind: 'tensor'
  readonly shape: Shape
  readonly prim: Primitive
  readonly inputs: readonly Tensor[]
  readonly attrs: Attrs
  /** Only for `const` nodes: the host value. */
  readonly value?: HostTensor
}

/** What callers may pass where a tensor is expected. */
export type TensorLike = Tensor | HostTensor | number

/** Scalar formula shared by every backend for elementwise primitives (`a`, `b`, `c` are the inputs). */
export interface Elementwise {
  readonly arity: 1 | 2 | 3
  /** A JS expression over `a` (and `b`, `c`), valid in plain JS and in gpu.js kernel bodies. */
  readonly expr: string
}

/**
 * A primitive: shape rule + VJP, written with other ops. Kernels live in the backends, keyed by `name`.
 * `vjp` returns one cotangent per input (null = no gradient flows to that input).
 */
export interface Primitive {
  readonly name: string
  readonly shape: (inputs: readonly Shape[], attrs: Attrs) => Shape
  readonly vjp?: (dy: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: Attrs) => readonly (Tensor | null)[]
  readonly elementwise?: Elementwise
  /** Output is input 0 unchanged (identity forward); the executor aliases instead of calling a kernel. */
  readonly alias?: boolean
}

export const isTensor = (x: unknown): x is Tensor => typeof x === 'object' && x !== null && (x as Tensor).kind === 'tensor'

/** The leaf primitive holding host data. */
export const constPrim: Primitive = {
  name: 'const',
  shape: () => {
    throw new Error('const: shape rule is not used')
  },
}

/** Lifts host data or a number to a `const` node; tensors pass through. */
export const lift = (x: TensorLike): Tensor => {
  if (isTensor(x)) return x
  // float64 so scalars stay exact on the float64 ref backend (float32 backends convert on upload)
  if (typeof x === 'number') return constant(fromData(new Float64Array([x]), []))
  if (isHost(x)) return constant(x)
  throw new TypeError(`expected a tensor, host tensor or number, got ${describe(x)}`)
}

const describe = (x: unknown): string => (x === null ? 'null' : Array.isArray(x) ? 'an array (wrap it with tensor(...))' : typeof x)

/** A `const` node for host data. */
export const constant = (value: HostTensor): Tensor => ({
  kind: 'tensor',
  shape: value.shape,
  prim: constPrim,
  inputs: [],
  attrs: {},
  value,
})

/** Applies a primitive: checks shapes (errors name the op) and appends a node. */
export const bind = (prim: Primitive, inputs: readonly TensorLike[], attrs: Attrs = {}): Tensor => {
  const ins = inputs.map((x, i) => {
    try {
      return lift(x)
    } catch (e) {
      throw new TypeError(`${prim.name}: argument ${i}: ${(e as Error).message}`)
    }
  })
  const shape = prim.shape(
    ins.map((t) => t.shape),
    attrs,
  )
  return { kind: 'tensor', shape, prim, inputs: ins, attrs }
}

/** Helper for shape rules: asserts a condition or throws a ShapeError naming the op and shapes. */
export const expectShape = (cond: boolean, op: string, msg: string, shapes: readonly Shape[] = []): void => {
  if (!cond) throw new ShapeError(`${op}: ${msg}${shapes.length ? `: ${shapes.map(fmt).join(' × ')}` : ''}`)
}

/** Nodes reachable from `outs`, inputs before users (iterative DFS: deep nets overflow recursion). */
export const topoSort = (outs: readonly Tensor[]): Tensor[] => {
  const order: Tensor[] = []
  const state = new Map<Tensor, 1 | 2>()
  for (const root of outs) {
    if (state.has(root)) continue
    const stack: [Tensor, number][] = [[root, 0]]
    state.set(root, 1)
    while (stack.length) {
      const top = stack[stack.length - 1]
      const [t, i] = top
      if (i < t.inputs.length) {
        top[1]++
        const c = t.inputs[i]
        if (!state.has(c)) {
          state.set(c, 1)
          stack.push([c, 0])
        }
      } else {
        stack.pop()
        state.set(t, 2)
        order.push(t)
      }
    }
  }
  return order
}
