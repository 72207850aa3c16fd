import { fromData, type HostTensor } from '../../tensor/host.ts'
import { fmt, type Shape, sizeOf } from '../../tensor/shape.ts'
import { type Backend, type HostKernel, missingKernel } from '../backend.ts'

export type ArrayCtor<D> = { new (n: number): D; from(x: ArrayLike<number>): D }

/**
 * A backend whose buffers are typed arrays in host memory (ref: float64, cpu: float32).
 * Kernels return fresh arrays and never write their inputs. `kernels` is keyed by op name, plus
 * `elementwise`: the kernel of every primitive that carries a scalar formula and has no kernel of its own.
 */
export const hostBackend = <D extends Float32Array | Float64Array>(
  name: string,
  Ctor: ArrayCtor<D>,
  kernels: Readonly<Record<string, HostKernel<D>>>,
): Backend<D> => {
  const live = new Set<D>()
  const track = (d: D): D => {
    live.add(d)
    return d
  }
  return {
    name,
    sync: true,
    has: (op) => op.name in kernels || (op.elementwise !== undefined && 'elementwise' in kernels),
    upload: (t: HostTensor) => track(t.data instanceof (Ctor as unknown as Function) ? (t.data as D) : Ctor.from(t.data)),
    exec: (call, inputs) => {
      // a kernel registered under the op's name wins; elementwise ops otherwise share the generated one
      const k = kernels[call.op] ?? (call.elementwise ? kernels.elementwise : undefined)
      if (!k) throw missingKernel(name, call.op)
      const out = k(inputs, call)
      if (out.length !== sizeOf(call.outShape))
        throw new Error(`${name} backend: kernel '${call.op}' wrote ${out.length} values for shape ${fmt(call.outShape)}`)
      return track(out)
    },
    read: (b: D, shape: Shape) => fromData(b, shape),
    release: (b: D) => {
      live.delete(b)
    },
    stats: () => ({ liveBuffers: live.size, compiledKernels: 0 }),
  }
}
