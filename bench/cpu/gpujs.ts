/** gpu.js `webasm` kernels (gather form, one output cell per thread) for matmul and the three conv passes. */
import { GPU } from 'gpu.js'
import type { Geometry } from './shapes.ts'

type K = (...a: Float32Array[]) => Float32Array
const make = (f: (...a: any[]) => number, size: number, constants: Record<string, number>): K => {
  const gpu = new GPU({ mode: 'webasm' } as any)
  return gpu.createKernel(f as any, { output: [size], constants, tactic: 'precision' } as any) as unknown as K
}

export const gpuMatmul = (n: number): K =>
  make(
    function (this: any, a: any, b: any) {
      const n = this.constants.n
      const i = Math.floor(this.thread.x / n)
      const j = this.thread.x - i * n
      let s = 0
      for (let p = 0; p < this.constants.n; p++) s += a[i * n + p] * b[p * n + j]
      return s
    },
    n * n,
    { n },
  )

const consts = (g: Geometry) => ({
  N: g.x[0],
  H: g.x[1],
  W: g.x[2],
  C: g.x[3],
  kh: g.w[0],
  kw: g.w[1],
  co: g.w[3],
  OH: g.y[1],
  OW: g.y[2],
  s: g.strides[0],
  pt: g.pads[0],
  pl: g.pads[2],
})

export const gpuConv = (g: Geometry): K =>
  make(
    function (this: any, x: any, w: any) {
      const o = this.thread.x % this.constants.co
      const t = Math.floor(this.thread.x / this.constants.co)
      const ow = t % this.constants.OW
      const t2 = Math.floor(t / this.constants.OW)
      const oh = t2 % this.constants.OH
      const n = Math.floor(t2 / this.constants.OH)
      let s = 0
      for (let ky = 0; ky < this.constants.kh; ky++) {
        const ih = oh * this.constants.s - this.constants.pt + ky
        for (let kx = 0; kx < this.constants.kw; kx++) {
          const iw = ow * this.constants.s - this.constants.pl + kx
          if (ih >= 0 && ih < this.constants.H && iw >= 0 && iw < this.constants.W) {
            for (let c = 0; c < this.constants.C; c++)
              s +=
                x[((n * this.constants.H + ih) * this.constants.W + iw) * this.constants.C + c] *
                w[((ky * this.constants.kw + kx) * this.constants.C + c) * this.constants.co + o]
          }
        }
      }
      return s
    },
    g.y.reduce((p, q) => p * q, 1),
    consts(g),
  )

export const gpuConvDx = (g: Geometry): K =>
  make(
    function (this: any, dy: any, w: any) {
      const c = this.thread.x % this.constants.C
      const t = Math.floor(this.thread.x / this.constants.C)
      const iw = t % this.constants.W
      const t2 = Math.floor(t / this.constants.W)
      const ih = t2 % this.constants.H
      const n = Math.floor(t2 / this.constants.H)
      let s = 0
      for (let ky = 0; ky < this.constants.kh; ky++) {
        const hn = ih + this.constants.pt - ky
        const oh = Math.floor(hn / this.constants.s)
        for (let kx = 0; kx < this.constants.kw; kx++) {
          const wn = iw + this.constants.pl - kx
          const ow = Math.floor(wn / this.constants.s)
          if (
            hn >= 0 &&
            oh * this.constants.s === hn &&
            oh < this.constants.OH &&
            wn >= 0 &&
            ow * this.constants.s === wn &&
            ow < this.constants.OW
          ) {
            for (let o = 0; o < this.constants.co; o++)
              s +=
                dy[((n * this.constants.OH + oh) * this.constants.OW + ow) * this.constants.co + o] *
                w[((ky * this.constants.kw + kx) * this.constants.C + c) * this.constants.co + o]
          }
        }
      }
      return s
    },
    g.x.reduce((p, q) => p * q, 1),
    consts(g),
  )

export const gpuConvDw = (g: Geometry): K =>
  make(
    function (this: any, x: any, dy: any) {
      const o = this.thread.x % this.constants.co
      const t = Math.floor(this.thread.x / this.constants.co)
      const c = t % this.constants.C
      const t2 = Math.floor(t / this.constants.C)
      const kx = t2 % this.constants.kw
      const ky = Math.floor(t2 / this.constants.kw)
      let s = 0
      for (let n = 0; n < this.constants.N; n++) {
        for (let oh = 0; oh < this.constants.OH; oh++) {
          const ih = oh * this.constants.s - this.constants.pt + ky
          for (let ow = 0; ow < this.constants.OW; ow++) {
            const iw = ow * this.constants.s - this.constants.pl + kx
            if (ih >= 0 && ih < this.constants.H && iw >= 0 && iw < this.constants.W)
              s +=
                x[((n * this.constants.H + ih) * this.constants.W + iw) * this.constants.C + c] *
                dy[((n * this.constants.OH + oh) * this.constants.OW + ow) * this.constants.co + o]
          }
        }
      }
      return s
    },
    g.w.reduce((p, q) => p * q, 1),
    consts(g),
  )
