import * as ops from '../../../src/index.ts'
import { arbPoolConfig, fc, type PoolConfig } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

type Cfg = PoolConfig

/** Pool attrs and shapes of a config (pads resolved by the public rule, so 'same' is exercised too). */
const attrsOf = (c: Cfg) => {
  const { size, strides, padding } = c
  const pads = ops.resolvePads('test', padding, [c.h, c.w], size, strides)
  const oh = ops.outSize(c.h, size[0], strides[0], pads[0], pads[1])
  const ow = ops.outSize(c.w, size[1], strides[1], pads[2], pads[3])
  return { size, strides, pads, padding, inShape: [c.n, c.h, c.w, c.c], outShape: [c.n, oh, ow, c.c] }
}
type A = ReturnType<typeof attrsOf>
const nonEmpty = (c: Cfg) => {
  const a = attrsOf(c)
  return a.outShape[1] >= 1 && a.outShape[2] >= 1
}

/**
 * Values on a grid of step 2e-5 in [−2, 2]: exact ties are rare (and filtered), near-ties closer than the grid
 * step, which finite differences (steps of ~1e-6) could cross, cannot happen; float32 keeps them distinct.
 */
const arbGrid = (shape: number[]) =>
  fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: ops.sizeOf(shape), maxLength: ops.sizeOf(shape) }).map((v) =>
    ops.tensor64(
      v.map((i) => -2 + i / 50_000),
      shape,
    ),
  )

/** No two equal values in any window (finite differences then never cross an argmax switch). */
const distinctWindows = (x: ops.HostTensor, a: A): boolean => {
  const [n, h, w, c] = a.inShape
  const [, oh, ow] = a.outShape
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          const seen = new Set<number>()
          for (let p = 0; p < a.size[0]; p++)
            for (let q = 0; q < a.size[1]; q++) {
              const ih = i * a.strides[0] - a.pads[0] + p
              const iw = j * a.strides[1] - a.pads[2] + q
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue
              const v = x.data[((b * h + ih) * w + iw) * c + ch]
              if (seen.has(v)) return false
              seen.add(v)
            }
        }
  return true
}

/** A config with a non-empty output and tensors of the shapes `shapes(attrs)`. */
const withInputs = (shapes: (a: A) => number[][]) =>
  arbPoolConfig()
    .filter(nonEmpty)
    .chain((c) => {
      const a = attrsOf(c)
      return fc.tuple(...shapes(a).map(arbGrid)).map((inputs) => ({ inputs, attrs: a }))
    })

const opts = (a: A): ops.PoolOptions => ({ size: a.size, strides: a.strides, padding: a.padding })

export const poolCases: PrimCase[] = [
  {
    prim: 'maxPool',
    arb: withInputs((a) => [a.inShape]),
    f: ([x], a) => ops.maxPool(x, opts(a)),
    pre: ([x], a) => distinctWindows(x, a),
  },
  {
    prim: 'maxPoolBack',
    arb: withInputs((a) => [a.inShape, a.outShape]),
    f: ([x, dy], a) => ops.maxPoolBack(x, dy, a),
    pre: ([x], a) => distinctWindows(x, a),
  },
  {
    prim: 'maxPoolSelect',
    arb: withInputs((a) => [a.inShape, a.inShape]),
    f: ([x, g], a) => ops.maxPoolSelect(x, g, a),
    pre: ([x], a) => distinctWindows(x, a),
  },
  {
    prim: 'avgPool',
    arb: withInputs((a) => [a.inShape]),
    f: ([x], a) => ops.avgPool(x, opts(a)),
  },
  {
    prim: 'avgPoolBack',
    arb: withInputs((a) => [a.outShape]),
    f: ([dy], a) => ops.avgPoolBack(dy, a),
  },
  {
    prim: 'maxPool',
    label: 'second order: grad of Σ maxPool(x)² differentiated in x',
    arb: withInputs((a) => [a.inShape]),
    f: ([x], a) => ops.grad((xx: ops.Tensor) => ops.sum(ops.square(ops.maxPool(xx, opts(a)))))(x),
    pre: ([x], a) => distinctWindows(x, a),
    numRuns: 8,
  },
]
