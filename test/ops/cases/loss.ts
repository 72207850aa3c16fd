import * as ops from '../../../src/index.ts'
import { arbShape, arbTensor, fc } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

/** A `[..., C]` shape with C ≥ 1 (rank 1 to 3). */
const arbRows = arbShape({ minRank: 1, maxRank: 3 })

/** Integer-valued labels in [0, depth) for a `[...]` batch shape. */
const arbLabels = (batch: number[], depth: number) =>
  fc
    .array(fc.integer({ min: 0, max: depth - 1 }), { minLength: ops.sizeOf(batch), maxLength: ops.sizeOf(batch) })
    .map((v) => ops.tensor64(v, batch))

export const lossCases: PrimCase[] = [
  {
    prim: 'oneHot',
    arb: fc
      .tuple(arbShape({ maxRank: 2 }), fc.integer({ min: 1, max: 5 }))
      .chain(([s, depth]) => arbLabels(s, depth).map((y) => ({ inputs: [y], attrs: { depth } }))),
    f: ([y], a) => ops.oneHot(y, a.depth),
    wrt: [],
  },
  {
    prim: 'softmaxCrossEntropy',
    label: 'unnormalised targets',
    arb: arbRows.chain((s) => fc.tuple(arbTensor(s, { min: -3, max: 3 }), arbTensor(s, { min: 0, max: 1 })).map((inputs) => ({ inputs }))),
    f: ([l, t]) => ops.softmaxCrossEntropy(l, t),
  },
  {
    prim: 'softmaxCrossEntropy',
    label: 'large logits (stability)',
    arb: arbRows.chain((s) =>
      fc.tuple(arbTensor(s, { min: 500, max: 520 }), arbTensor(s, { min: 0, max: 1 })).map((inputs) => ({ inputs })),
    ),
    f: ([l, t]) => ops.softmaxCrossEntropy(l, t),
  },
  {
    prim: 'softmaxCrossEntropy',
    label: 'sparse labels via oneHot',
    arb: fc
      .tuple(arbShape({ minRank: 1, maxRank: 2 }), fc.integer({ min: 1, max: 5 }))
      .chain(([b, c]) => fc.tuple(arbTensor([...b, c]), arbLabels(b, c)).map((inputs) => ({ inputs }))),
    f: ([l, y]) => ops.sparseSoftmaxCrossEntropy(l, y),
    wrt: [0],
  },
  {
    prim: 'softmaxCrossEntropy',
    label: 'second order: grad of Σ loss in the logits',
    arb: arbRows.chain((s) => fc.tuple(arbTensor(s), arbTensor(s, { min: 0, max: 1 })).map((inputs) => ({ inputs }))),
    f: ([l, t]) => ops.grad((ll: ops.Tensor) => ops.sum(ops.softmaxCrossEntropy(ll, t)))(l),
    numRuns: 8,
  },
  {
    prim: 'softmaxCrossEntropy',
    label: 'composites: softmax, l1Loss, l2Loss, linear, batchNormMath',
    arb: fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
      .chain(([n, din, dout]) =>
        fc
          .tuple(
            arbTensor([n, din]),
            arbTensor([din, dout]),
            arbTensor([dout]),
            arbTensor([n, dout]),
            arbTensor([dout], { min: 0.5, max: 2 }),
          )
          .map((inputs) => ({ inputs })),
      ),
    f: ([x, w, b, t, v]) => {
      const y = ops.linear(x, w, b)
      const { mean } = ops.moments(y, 0, true)
      const bn = ops.batchNormMath(y, mean, v, v, b, 1e-3)
      // l1 only on a smooth part (values kept away from the kink by adding 10)
      return ops.add(ops.add(ops.l2Loss(ops.softmax(bn), t), ops.l1Loss(ops.add(y, 10), t)), ops.sum(ops.logSoftmax(y)))
    },
  },
]
