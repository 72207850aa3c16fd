/**
 * Reference kernels: the plainest correct loops, generic over the array type. `ref` runs them in float64
 * as the oracle for every test; `cpu` starts from them and overrides the hot ones.
 */
import { matmulDims } from '../geometry.ts'
import { type Shape, sizeOf, stridesOf } from '../../tensor/shape.ts'
import type { HostKernel, KernelCall } from '../backend.ts'
import type { ArrayCtor } from '../host/backend.ts'
import { broadcastOffsets, walk } from '../host/index-math.ts'
import { refConvKernels } from './conv.ts'
import { refLossKernels } from './loss.ts'
import { refPoolKernels } from './pool.ts'

type D = Float32Array | Float64Array
type Scalar = (a: number, b: number, c: number) => number

const scalarCache = new Map<string, Scalar>()
/** Compiles an elementwise formula once (pure, so a module-level memo is safe). */
export const scalarFn = (expr: string): Scalar => {
  let f = scalarCache.get(expr)
  if (!f) {
    f = new Function('a', 'b', 'c', `return ${expr}`) as Scalar
    scalarCache.set(expr, f)
  }
  return f
}

export const refKernels = <A extends D>(Ctor: ArrayCtor<A>): Record<string, HostKernel<A>> => {
  const elementwise: HostKernel<A> = (ins, call) => {
    const f = scalarFn(call.elementwise!.expr)
    const n = sizeOf(call.outShape)
    const out = new Ctor(n)
    const offs = broadcastOffsets(call.inShapes, call.outShape)
    const [x, y, z] = ins
    const [ox, oy, oz] = offs
    for (let i = 0; i < n; i++) out[i] = f(x[ox[i]], y ? y[oy[i]] : 0, z ? z[oz[i]] : 0)
    return out
  }
  const reduce =
    (init: number, step: (acc: number, v: number) => number): HostKernel<A> =>
    ([x], call) => {
      const axes = call.attrs.axes as number[]
      const s = call.inShapes[0]
      const out = new Ctor(sizeOf(call.outShape))
      out.fill(init)
      const outStrides = stridesOf(call.outShape)
      // stride of each input axis into the output (0 for reduced axes)
      const st: number[] = []
      let j = 0
      s.forEach((_, i) => {
        st.push(axes.includes(i) ? 0 : outStrides[j++])
      })
      walk(s, st, 0, (e, o) => {
        out[o] = step(out[o], x[e])
      })
      return out
    }
  const gatherBy = (x: A, _inShape: Shape, outShape: Shape, strides: number[], base: number): A => {
    const out = new Ctor(sizeOf(outShape))
    walk(outShape, strides, base, (e, i) => {
      out[e] = x[i]
    })
    return out
  }
  return {
    ...refConvKernels(Ctor),
    ...refPoolKernels(Ctor),
    ...refLossKernels(Ctor),
    elementwise,
    sum: reduce(0, (a, v) => a + v),
    max: reduce(-Infinity, (a, v) => Math.max(v, a)),
    transpose: ([x], call) => {
      const perm = call.attrs.perm as number[]
      const st = stridesOf(call.inShapes[0])
      return gatherBy(
        x,
        call.inShapes[0],
        call.outShape,
        perm.map((p) => st[p]),
        0,
      )
    },
    broadcastTo: ([x], call) => {
      const s = call.inShapes[0]
      const st = stridesOf(s)
      const lead = call.outShape.length - s.length
      return gatherBy(
        x,
        s,
        call.outShape,
        call.outShape.map((_, i) => (i < lead || s[i - lead] === 1 ? 0 : st[i - lead])),
        0,
      )
    },
    slice: ([x], call) => {
      const begin = call.attrs.begin as number[]
      const st = stridesOf(call.inShapes[0])
      return gatherBy(
        x,
        call.inShapes[0],
        call.outShape,
        st,
        begin.reduce((acc, b, i) => acc + b * st[i], 0),
      )
    },
    pad: ([x], call) => {
      const pads = call.attrs.pads as [number, number][]
      const out = new Ctor(sizeOf(call.outShape))
      const ost = stridesOf(call.outShape)
      const base = pads.reduce((acc, [lo], i) => acc + lo * ost[i], 0)
      walk(call.inShapes[0], ost, base, (e, o) => {
        out[o] = x[e]
      })
      return out
    },
    concat: (xs, call) => {
      const axis = call.attrs.axis as number
      const out = new Ctor(sizeOf(call.outShape))
      const ost = stridesOf(call.outShape)
      let off = 0
      xs.forEach((x, k) => {
        walk(call.inShapes[k], ost, off * ost[axis], (e, o) => {
          out[o] = x[e]
        })
        off += call.inShapes[k][axis]
      })
      return out
    },
    matmul: ([a, b], call: KernelCall) => {
      const { m, n, k, batch, transA, transB } = matmulDims(call)
      const out = new Ctor(batch * m * n)
      for (let bt = 0; bt < batch; bt++) {
        const ao = bt * m * k
        const bo = bt * k * n
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let acc = 0
            for (let p = 0; p < k; p++) acc += a[ao + (transA ? p * m + i : i * k + p)] * b[bo + (transB ? j * k + p : p * n + j)]
            out[bt * m * n + i * n + j] = acc
          }
      }
      return out
    },
  }
}
