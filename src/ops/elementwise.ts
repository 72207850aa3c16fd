/**
 * Elementwise primitives with numpy broadcasting. Each carries its scalar formula (`expr`), from which
 * every backend generates its kernel (plain loops on ref/cpu, fused gpu.js kernels on the GPU), so a new
 * elementwise op is one table row plus its VJP.
 */
import { bind, type Primitive, type Tensor, type TensorLike, lift } from '../graph/graph.ts'
import { broadcastShapes, type Shape, shapesEqual } from '../tensor/shape.ts'
import { sum } from './reduce.ts'
import { broadcastTo, reshape } from './shape.ts'

const broadcastRule =
  (name: string) =>
  (shapes: readonly Shape[]): Shape =>
    shapes.reduce((acc, s) => broadcastShapes(name, acc, s))

/** Sums `dy` down to `shape` (the transpose of broadcasting). */
export const unbroadcast = (dy: Tensor, shape: Shape): Tensor => {
  if (shapesEqual(dy.shape, shape)) return dy
  const lead = dy.shape.length - shape.length
  const axes: number[] = []
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i)
  })
  return reshape(sum(dy, axes), shape)
}

type Vjp = NonNullable<Primitive['vjp']>
const unaryPrim = (name: string, expr: string, vjp: Vjp | undefined): Primitive => ({
  name,
  elementwise: { arity: 1, expr },
  shape: ([s]) => s,
  ...(vjp ? { vjp } : {}),
})
const binaryPrim = (
  name: string,
  expr: string,
  vjp: (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null],
): Primitive => ({
  name,
  elementwise: { arity: 2, expr },
  shape: broadcastRule(name),
  vjp: (dy, [a, b], y) => {
    const [da, db] = vjp(dy, a, b, y)
    return [da && unbroadcast(da, a.shape), db && unbroadcast(db, b.shape)]
  },
})
const zeroGrad: Vjp = (_dy, ins) => ins.map(() => null)

export const unaryPrims = {
  neg: unaryPrim('neg', '-a', (dy) => [neg(dy)]),
  exp: unaryPrim('exp', 'Math.exp(a)', (dy, _x, y) => [mul(dy, y)]),
  log: unaryPrim('log', 'Math.log(a)', (dy, [x]) => [div(dy, x)]),
  sqrt: unaryPrim('sqrt', 'Math.sqrt(a)', (dy, _x, y) => [div(dy, mul(y, 2))]),
  abs: unaryPrim('abs', 'Math.abs(a)', (dy, [x]) => [mul(dy, sign(x))]),
  sign: unaryPrim('sign', '(a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : 0.0))', zeroGrad),
  relu: unaryPrim('relu', 'Math.max(a, 0.0)', (dy, [x]) => [mul(dy, greater(x, 0))]),
  sigmoid: unaryPrim('sigmoid', '1.0 / (1.0 + Math.exp(-a))', (dy, _x, y) => [mul(dy, mul(y, sub(1, y)))]),
  tanh: unaryPrim('tanh', 'Math.tanh(a)', (dy, _x, y) => [mul(dy, sub(1, square(y)))]),
  square: unaryPrim('square', 'a * a', (dy, [x]) => [mul(dy, mul(x, 2))]),
  reciprocal: unaryPrim('reciprocal', '1.0 / a', (dy, _x, y) => [neg(mul(dy, square(y)))]),
} as const

const cmp = (name: string, op: string): Primitive => binaryPrim(name, `(a ${op} b ? 1.0 : 0.0)`, () => [null, null])

export const binaryPrims = {
  add: binaryPrim('add', 'a + b', (dy) => [dy, dy]),
  // negate after summing down to b's shape: a broadcast b (batch norm's mean) then costs a sum, not a full-size neg
  sub: binaryPrim('sub', 'a - b', (dy, _a, b) => [dy, neg(unbroadcast(dy, b.shape))]),
  mul: binaryPrim('mul', 'a * b', (dy, a, b) => [mul(dy, b), mul(dy, a)]),
  div: binaryPrim('div', 'a / b', (dy, _a, b, y) => [div(dy, b), neg(div(mul(dy, y), b))]),
  pow: binaryPrim('pow', 'Math.pow(a, b)', (dy, a, b, y) => [mul(dy, mul(b, pow(a, sub(b, 1)))), mul(dy, mul(y, log(a)))]),
  maximum: binaryPrim('maximum', 'Math.max(a, b)', (dy, a, b) => {
    const m = greaterEqual(a, b)
    return [mul(dy, m), mul(dy, sub(1, m))]
  }),
  minimum: binaryPrim('minimum', 'Math.min(a, b)', (dy, a, b) => {
    const m = lessEqual(a, b)
    return [mul(dy, m), mul(dy, sub(1, m))]
  }),
  less: cmp('less', '<'),
  lessEqual: cmp('lessEqual', '<='),
  greater: cmp('greater', '>'),
  greaterEqual: cmp('greaterEqual', '>='),
  equal: cmp('equal', '=='),
  notEqual: cmp('notEqual', '!='),
} as const

/** where(cond, x, y): x where cond ≠ 0 else y, broadcast over all three. */
export const wherePrim: Primitive = {
  name: 'where',
  elementwise: { arity: 3, expr: '(a != 0.0 ? b : c)' },
  shape: broadcastRule('where'),
  vjp: (dy, [c, x, y]) => {
    const z = zerosLike(dy)
    return [null, unbroadcast(where(c, dy, z), x.shape), unbroadcast(where(c, z, dy), y.shape)]
  },
}

const u =
  (p: Primitive) =>
  (x: TensorLike): Tensor =>
    bind(p, [x])
const b =
  (p: Primitive) =>
  (x: TensorLike, y: TensorLike): Tensor =>
    bind(p, [x, y])

/** −x */ export const neg = u(unaryPrims.neg)
/** eˣ */ export const exp = u(unaryPrims.exp)
/** ln x */ export const log = u(unaryPrims.log)
/** √x */ export const sqrt = u(unaryPrims.sqrt)
/** |x| (subgradient 0 at 0) */ export const abs = u(unaryPrims.abs)
/** sign(x) ∈ {−1, 0, 1}; zero gradient */ export const sign = u(unaryPrims.sign)
/** max(x, 0) (subgradient 0 at 0) */ export const relu = u(unaryPrims.relu)
/** 1 / (1 + e⁻ˣ) */ export const sigmoid = u(unaryPrims.sigmoid)
/** tanh x */ export const tanh = u(unaryPrims.tanh)
/** x² */ export const square = u(unaryPrims.square)
/** 1 / x */ export const reciprocal = u(unaryPrims.reciprocal)
/** a + b (broadcast) */ export const add = b(binaryPrims.add)
/** a − b (broadcast) */ export const sub = b(binaryPrims.sub)
/** a · b (broadcast) */ export const mul = b(binaryPrims.mul)
/** a / b (broadcast) */ export const div = b(binaryPrims.div)
/** aᵇ (broadcast; d/db needs a > 0) */ export const pow = b(binaryPrims.pow)
/** max(a, b); ties send the gradient to a */ export const maximum = b(binaryPrims.maximum)
/** min(a, b); ties send the gradient to a */ export const minimum = b(binaryPrims.minimum)
/** 1 where a < b else 0 */ export const less = b(binaryPrims.less)
/** 1 where a ≤ b else 0 */ export const lessEqual = b(binaryPrims.lessEqual)
/** 1 where a > b else 0 */ export const greater = b(binaryPrims.greater)
/** 1 where a ≥ b else 0 */ export const greaterEqual = b(binaryPrims.greaterEqual)
/** 1 where a = b else 0 */ export const equal = b(binaryPrims.equal)
/** 1 where a ≠ b else 0 */ export const notEqual = b(binaryPrims.notEqual)
/** cond ≠ 0 ? x : y (broadcast) */
export const where = (cond: TensorLike, x: TensorLike, y: TensorLike): Tensor => bind(wherePrim, [cond, x, y])

/** Zeros of t's shape (a broadcast scalar: no memory until run). */
export const zerosLike = (t: Tensor): Tensor => broadcastTo(lift(0), t.shape)
/** Ones of t's shape. */
export const onesLike = (t: Tensor): Tensor => broadcastTo(lift(1), t.shape)
