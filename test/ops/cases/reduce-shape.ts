import * as ops from '../../../src/index.ts'
import { arbShape, arbTensor, fc } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

/** A tensor plus a random subset of its axes. */
const arbAxes = (opts: { minRank?: number } = {}) =>
  arbShape({ minRank: opts.minRank ?? 1, maxRank: 4 }).chain((s) =>
    fc
      .tuple(arbTensor(s), fc.subarray(s.map((_, i) => i)), fc.boolean())
      .map(([x, axes, keep]) => ({ inputs: [x], attrs: { axes, keep } })),
  )

/** Distinct values (no ties) so max is differentiable. */
const distinct = ([x]: readonly ops.HostTensor[]) => new Set(Array.from(x.data, (v) => Math.round(v * 1e4))).size === x.data.length

const arbPerm = arbShape({ minRank: 1, maxRank: 4 }).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.shuffledSubarray(
        s.map((_, i) => i),
        { minLength: s.length, maxLength: s.length },
      ),
    )
    .map(([x, perm]) => ({ inputs: [x], attrs: { perm } })),
)

const arbSlice = arbShape({ minRank: 1, maxRank: 3, maxDim: 5 }).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.tuple(
        ...s.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b })))),
      ),
    )
    .map(([x, bs]) => ({ inputs: [x], attrs: { begin: bs.map((p) => p[0]), size: bs.map((p) => p[1]) } })),
)

const arbPad = arbShape({ minRank: 1, maxRank: 3 }).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: s.length, maxLength: s.length }),
    )
    .map(([x, pads]) => ({ inputs: [x], attrs: { pads } })),
)

const arbConcat = arbShape({ minRank: 1, maxRank: 3 }).chain((s) =>
  fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
    fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 })
      .chain((ds) => fc.tuple(...ds.map((d) => arbTensor(s.map((v, i) => (i === axis ? d : v))))))
      .map((inputs) => ({ inputs, attrs: { axis } })),
  ),
)

const arbBroadcastTo = arbShape({ maxRank: 3 }).chain((s) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      // a source axis is 1 (broadcast) one time in four, so the source is rarely a single element
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: s.length, maxLength: s.length }),
    )
    .chain(([lead, ones]) => {
      const src = s.map((d, i) => (ones[i] === 0 ? 1 : d))
      return arbTensor(src).map((x) => ({ inputs: [x], attrs: { shape: [...lead, ...s] } }))
    }),
)

const arbReshape = arbShape({ minRank: 1, maxRank: 3 }).chain((s) =>
  arbTensor(s).map((x) => ({ inputs: [x], attrs: { shape: [ops.sizeOf(s)] } })),
)

const arbMatmul = fc
  .record({
    batch: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 2 }),
    m: fc.integer({ min: 1, max: 4 }),
    k: fc.integer({ min: 1, max: 4 }),
    n: fc.integer({ min: 1, max: 4 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
  })
  .chain(({ batch, m, k, n, transA, transB }) =>
    fc
      .tuple(arbTensor([...batch, ...(transA ? [k, m] : [m, k])]), arbTensor([...batch, ...(transB ? [n, k] : [k, n])]))
      .map((inputs) => ({ inputs, attrs: { transA, transB } })),
  )

export const reduceShapeCases: PrimCase[] = [
  { prim: 'sum', arb: arbAxes(), f: ([x], a) => ops.sum(x, a.axes, a.keep) },
  { prim: 'max', arb: arbAxes(), f: ([x], a) => ops.max(x, a.axes, a.keep), pre: distinct },
  { prim: 'reshape', arb: arbReshape, f: ([x], a) => ops.reshape(x, a.shape) },
  { prim: 'transpose', arb: arbPerm, f: ([x], a) => ops.transpose(x, a.perm) },
  { prim: 'slice', arb: arbSlice, f: ([x], a) => ops.slice(x, a.begin, a.size) },
  { prim: 'pad', arb: arbPad, f: ([x], a) => ops.pad(x, a.pads) },
  { prim: 'concat', arb: arbConcat, f: (xs, a) => ops.concat(xs, a.axis) },
  { prim: 'broadcastTo', arb: arbBroadcastTo, f: ([x], a) => ops.broadcastTo(x, a.shape) },
  { prim: 'matmul', arb: arbMatmul, f: ([x, y], a) => ops.matmul(x, y, a) },
]
