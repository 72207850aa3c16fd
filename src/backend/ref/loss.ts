/** Loss kernels, generic over the array type (row loops; the cpu backend uses them in float32). */
import type { HostKernel } from '../backend.ts'
import type { ArrayCtor } from '../host/backend.ts'

type D = Float32Array | Float64Array

export const refLossKernels = <A extends D>(Ctor: ArrayCtor<A>): Record<string, HostKernel<A>> => ({
  oneHot: ([labels], call) => {
    const depth = call.attrs.depth as number
    const out = new Ctor(labels.length * depth)
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]
      if (!(Number.isInteger(v) && v >= 0 && v < depth))
        throw new RangeError(`oneHot: label ${v} at flat index ${i} is not an integer in [0, ${depth})`)
      out[i * depth + v] = 1
    }
    return out
  },
  softmaxCrossEntropy: ([l, t], call) => {
    const s = call.inShapes[0]
    const c = s[s.length - 1]
    const rows = c === 0 ? 0 : l.length / c
    const out = new Ctor(call.outShape.reduce((a, b) => a * b, 1))
    for (let r = 0; r < rows; r++) {
      const o = r * c
      let m = -Infinity
      for (let k = 0; k < c; k++) if (l[o + k] > m) m = l[o + k]
      let e = 0
      for (let k = 0; k < c; k++) e += Math.exp(l[o + k] - m)
      const lse = m + Math.log(e)
      let loss = 0
      // zero targets are skipped so a −∞ logit with no target mass contributes 0, not 0·∞
      for (let k = 0; k < c; k++) if (t[o + k] !== 0) loss += t[o + k] * (lse - l[o + k])
      out[r] = loss
    }
    return out
  },
})
