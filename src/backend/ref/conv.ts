/**
 * Reference conv kernels: direct loops straight from the definitions (NHWC, HWIO), generic over the
 * array type. They are the float64 oracle; the cpu backend replaces them with im2col + blocked GEMM.
 */
import type { HostKernel, KernelCall } from '../backend.ts'
import type { ArrayCtor } from '../host/backend.ts'

type D = Float32Array | Float64Array

/** Geometry of one conv call, read from its attrs and shapes. */
export interface ConvGeom {
  n: number
  h: number
  w: number
  cin: number
  kh: number
  kw: number
  cout: number
  oh: number
  ow: number
  sh: number
  sw: number
  pt: number
  pl: number
}

/** Reads the geometry from `x` `[N,H,W,Cin]`, filter `[KH,KW,Cin,Cout]` and out `[N,OH,OW,Cout]` shapes. */
export const convGeom = (call: KernelCall, x: readonly number[], f: readonly number[], y: readonly number[]): ConvGeom => {
  const [sh, sw] = call.attrs.strides as number[]
  const [pt, , pl] = call.attrs.pads as number[]
  return { n: x[0], h: x[1], w: x[2], cin: x[3], kh: f[0], kw: f[1], cout: f[3], oh: y[1], ow: y[2], sh, sw, pt, pl }
}

/**
 * Calls `f(xOff, wOff, yOff)` for every (output pixel, filter tap) pair that reads an in-bounds input
 * pixel; offsets point at channel 0. All three conv kernels are this walk with a different inner product.
 */
const eachTap = (g: ConvGeom, f: (xo: number, wo: number, yo: number) => void): void => {
  for (let b = 0; b < g.n; b++)
    for (let i = 0; i < g.oh; i++)
      for (let j = 0; j < g.ow; j++) {
        const yo = ((b * g.oh + i) * g.ow + j) * g.cout
        for (let p = 0; p < g.kh; p++) {
          const ih = i * g.sh - g.pt + p
          if (ih < 0 || ih >= g.h) continue
          for (let q = 0; q < g.kw; q++) {
            const iw = j * g.sw - g.pl + q
            if (iw < 0 || iw >= g.w) continue
            f(((b * g.h + ih) * g.w + iw) * g.cin, (p * g.kw + q) * g.cin * g.cout, yo)
          }
        }
      }
}

export const refConvKernels = <A extends D>(Ctor: ArrayCtor<A>): Record<string, HostKernel<A>> => ({
  conv2d: ([x, w], call) => {
    const g = convGeom(call, call.inShapes[0], call.inShapes[1], call.outShape)
    const y = new Ctor(g.n * g.oh * g.ow * g.cout)
    eachTap(g, (xo, wo, yo) => {
      for (let c = 0; c < g.cin; c++) for (let o = 0; o < g.cout; o++) y[yo + o] += x[xo + c] * w[wo + c * g.cout + o]
    })
    return y
  },
  conv2dBackInput: ([dy, w], call) => {
    const g = convGeom(call, call.outShape, call.inShapes[1], call.inShapes[0])
    const dx = new Ctor(g.n * g.h * g.w * g.cin)
    eachTap(g, (xo, wo, yo) => {
      for (let c = 0; c < g.cin; c++) for (let o = 0; o < g.cout; o++) dx[xo + c] += dy[yo + o] * w[wo + c * g.cout + o]
    })
    return dx
  },
  conv2dBackFilter: ([x, dy], call) => {
    const g = convGeom(call, call.inShapes[0], call.outShape, call.inShapes[1])
    const dw = new Ctor(g.kh * g.kw * g.cin * g.cout)
    eachTap(g, (xo, wo, yo) => {
      for (let c = 0; c < g.cin; c++) for (let o = 0; o < g.cout; o++) dw[wo + c * g.cout + o] += x[xo + c] * dy[yo + o]
    })
    return dw
  },
})
