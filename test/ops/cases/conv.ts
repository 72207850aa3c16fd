import * as ops from '../../../src/index.ts'
import { arbConvConfig, arbTensor, fc } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

type Cfg = ReturnType<typeof arbConvConfig> extends fc.Arbitrary<infer C> ? C : never

/** A config with explicit (possibly asymmetric) pads instead of 'same'/'valid'. */
const arbExplicit = (): fc.Arbitrary<Cfg & { pads: [[number, number], [number, number]] }> =>
  arbConvConfig().chain((c) =>
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))
      .map(([t, b, l, r]) => ({
        ...c,
        pads: [
          [t, b],
          [l, r],
        ] as [[number, number], [number, number]],
      })),
  )

const padding = (c: Cfg & { pads?: [[number, number], [number, number]] }): ops.Padding => c.pads ?? c.padding

/** Conv attrs of a config (via the public padding resolution, so 'same' is exercised too). */
const attrsOf = (
  c: Cfg & { pads?: [[number, number], [number, number]] },
): ops.ConvAttrs & { inShape: number[]; filterShape: number[]; outShape: number[] } => {
  const strides = c.stride
  const pads = ops.resolvePads('test', padding(c), [c.h, c.w], [c.kh, c.kw], strides)
  const oh = ops.outSize(c.h, c.kh, strides[0], pads[0], pads[1])
  const ow = ops.outSize(c.w, c.kw, strides[1], pads[2], pads[3])
  return { strides, pads, inShape: [c.n, c.h, c.w, c.cin], filterShape: [c.kh, c.kw, c.cin, c.cout], outShape: [c.n, oh, ow, c.cout] }
}

const valid = (c: Cfg & { pads?: [[number, number], [number, number]] }) => {
  const a = attrsOf(c)
  return a.outShape[1] >= 1 && a.outShape[2] >= 1
}

/** Draws a config with a non-empty output and the two input tensors `shapes(attrs)`. */
const withInputs = (arb: fc.Arbitrary<Cfg>, shapes: (a: ReturnType<typeof attrsOf>) => [number[], number[]]) =>
  arb.filter(valid).chain((c) => {
    const a = attrsOf(c)
    const [s0, s1] = shapes(a)
    return fc.tuple(arbTensor(s0), arbTensor(s1)).map(([u, v]) => ({ inputs: [u, v], attrs: { ...a, padding: padding(c) } }))
  })

export const convCases: PrimCase[] = [
  {
    prim: 'conv2d',
    arb: withInputs(arbConvConfig(), (a) => [a.inShape, a.filterShape]),
    f: ([x, w], a) => ops.conv2d(x, w, { strides: a.strides, padding: a.padding }),
  },
  {
    prim: 'conv2d',
    label: 'explicit pads',
    arb: withInputs(arbExplicit(), (a) => [a.inShape, a.filterShape]),
    f: ([x, w], a) => ops.conv2d(x, w, { strides: a.strides, padding: a.padding }),
  },
  {
    prim: 'conv2dBackInput',
    arb: withInputs(arbExplicit(), (a) => [a.outShape, a.filterShape]),
    f: ([dy, w], a) => ops.conv2dBackInput(dy, w, a),
  },
  {
    prim: 'conv2dBackFilter',
    arb: withInputs(arbExplicit(), (a) => [a.inShape, a.outShape]),
    f: ([x, dy], a) => ops.conv2dBackFilter(x, dy, a),
  },
  {
    prim: 'conv2d',
    label: 'second order: grad wrt w of Σ conv², differentiated in x and w',
    arb: withInputs(arbConvConfig(), (a) => [a.inShape, a.filterShape]),
    f: ([x, w], a) => ops.grad((ww: ops.Tensor) => ops.sum(ops.square(ops.conv2d(x, ww, { strides: a.strides, padding: a.padding }))))(w),
    numRuns: 8,
  },
]
