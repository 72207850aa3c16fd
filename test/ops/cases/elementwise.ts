import type { HostTensor } from '../../../src/index.ts'
import * as ops from '../../../src/index.ts'
import { arbBroadcastOf, arbShape, arbTensor, fc } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

const awayFrom =
  (v: number, d = 1e-3) =>
  (t: HostTensor) =>
    t.data.every((x) => Math.abs(x - v) > d)

const domain: Record<string, { min: number; max: number; pre?: (t: HostTensor) => boolean }> = {
  log: { min: 0.1, max: 3 },
  sqrt: { min: 0.1, max: 3 },
  reciprocal: { min: 0.2, max: 3 },
  abs: { min: -2, max: 2, pre: awayFrom(0) },
  relu: { min: -2, max: 2, pre: awayFrom(0) },
  sign: { min: -2, max: 2, pre: awayFrom(0) },
}

const unaryNames = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'sigmoid', 'tanh', 'square', 'reciprocal'] as const

const unary: PrimCase[] = unaryNames.map((name) => {
  const d = domain[name] ?? { min: -2, max: 2 }
  return {
    prim: name,
    arb: arbShape({ maxRank: 3 }).chain((s) => arbTensor(s, d).map((x) => ({ inputs: [x] }))),
    f: ([x]) => (ops[name] as (x: ops.Tensor) => ops.Tensor)(x),
    pre: d.pre ? ([x]) => d.pre!(x) : undefined,
  }
})

/** Two operands whose shapes broadcast (either side may be the smaller one). */
const arbPair = (opts: { min?: number; max?: number; minB?: number; maxB?: number } = {}) =>
  arbShape({ maxRank: 3 })
    .chain((s) => fc.tuple(fc.constant(s), arbBroadcastOf(s), fc.boolean()))
    .chain(([s, t, swap]) => {
      const [sa, sb] = swap ? [t, s] : [s, t]
      return fc
        .tuple(arbTensor(sa, { min: opts.min, max: opts.max }), arbTensor(sb, { min: opts.minB ?? opts.min, max: opts.maxB ?? opts.max }))
        .map(([a, b]) => ({ inputs: [a, b] }))
    })

/** No (near-)ties between a and b under broadcasting: compares every pair of values. */
const noTies = ([a, b]: readonly HostTensor[]) => a.data.every((x) => b.data.every((y) => Math.abs(x - y) > 1e-3))

const binaryNames = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
  'equal',
  'notEqual',
] as const
const binary: PrimCase[] = binaryNames.map((name) => ({
  prim: name,
  arb:
    name === 'div'
      ? arbPair({ min: -2, max: 2, minB: 0.5, maxB: 2 })
      : name === 'pow'
        ? arbPair({ min: 0.3, max: 2, minB: -1.5, maxB: 1.5 })
        : arbPair(),
  f: ([a, b]) => (ops[name] as (a: ops.Tensor, b: ops.Tensor) => ops.Tensor)(a, b),
  pre: ['add', 'sub', 'mul', 'div', 'pow'].includes(name) ? undefined : noTies,
}))

// equal/notEqual need exact ties to be interesting: a second case draws from a tiny value set
const tieCases: PrimCase[] = (['equal', 'notEqual'] as const).map((name) => ({
  prim: name,
  label: 'with ties',
  arb: arbShape({ minRank: 1, maxRank: 2 }).chain((s) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: ops.sizeOf(s), maxLength: ops.sizeOf(s) }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: ops.sizeOf(s), maxLength: ops.sizeOf(s) }),
      )
      .map(([a, b]) => ({ inputs: [ops.tensor64(a, s), ops.tensor64(b, s)] })),
  ),
  f: ([a, b]) => (ops[name] as (a: ops.Tensor, b: ops.Tensor) => ops.Tensor)(a, b),
  wrt: [],
}))

const where: PrimCase = {
  prim: 'where',
  arb: arbShape({ maxRank: 3 }).chain((s) =>
    fc
      .tuple(arbBroadcastOf(s), arbBroadcastOf(s))
      .chain(([sc, sy]) =>
        fc
          .tuple(fc.array(fc.boolean(), { minLength: ops.sizeOf(sc), maxLength: ops.sizeOf(sc) }), arbTensor(s), arbTensor(sy))
          .map(([c, x, y]) => ({ inputs: [ops.tensor64(c.map(Number), sc), x, y] })),
      ),
  ),
  f: ([c, x, y]) => ops.where(c, x, y),
  wrt: [1, 2],
}

export const elementwiseCases: PrimCase[] = [...unary, ...binary, ...tieCases, where]
