import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as s from '../../src/index.ts'

const ref = s.refBackend()
const val = (t: s.Tensor) => Array.from(s.runSync(t, { backend: ref }).data)
const close = (a: number[], b: number[], tol = 1e-9) =>
  assert.ok(a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i]))), `${a} vs ${b}`)

test('grad returns the tree shape of the parameters', () => {
  const p = { w: s.tensor64([1, 2, 3]), nested: [s.tensor64([[1, 2]]), { b: s.tensor64(0.5) }] }
  const g = s.grad((q: any) => s.add(s.sum(s.square(q.w)), s.mul(s.sum(q.nested[0]), q.nested[1].b)))(p) as any
  close(val(g.w), [2, 4, 6])
  close(val(g.nested[0]), [0.5, 0.5])
  close(val(g.nested[1].b), [3])
})

test('valueAndGrad returns the value too', () => {
  const { value, grad } = s.valueAndGrad((x: s.Tensor) => s.sum(s.exp(x)))(s.tensor64([0, 1]))
  close(val(value), [1 + Math.E])
  close(val(grad), [1, Math.E])
})

test('grad of grad: d²/dx² of x·eˣ is (x+2)eˣ, of tanh is −2 tanh (1 − tanh²)', () => {
  const x = s.tensor64([0.3, -1.2, 2])
  const d2 = s.grad((y: s.Tensor) => s.sum(s.grad((z: s.Tensor) => s.sum(s.mul(z, s.exp(z))))(y)))(x)
  close(
    val(d2),
    Array.from(x.data, (v) => (v + 2) * Math.exp(v)),
  )
  const t2 = s.grad((y: s.Tensor) => s.sum(s.grad((z: s.Tensor) => s.sum(s.tanh(z)))(y)))(x)
  close(
    val(t2),
    Array.from(x.data, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)),
  )
})

test('third derivative of sin-free polynomial via pow', () => {
  const x = s.tensor64([1.5])
  const f = (z: s.Tensor) => s.sum(s.pow(z, 4))
  const d3 = s.grad((a: s.Tensor) => s.sum(s.grad((b: s.Tensor) => s.sum(s.grad(f)(b)))(a)))(x)
  close(val(d3), [24 * 1.5], 1e-9)
})

test('stopGradient blocks the gradient but keeps the value', () => {
  const x = s.tensor64([2])
  const g = s.grad((z: s.Tensor) => s.sum(s.mul(z, s.stopGradient(z))))(x)
  close(val(g), [2])
  close(val(s.stopGradient(x)), [2])
})

test('customVjp replaces the transpose of the forward trace', () => {
  const clipGrad = s.customVjp(
    'clipGrad',
    (x) => s.mul(x, 3),
    (dy) => [s.minimum(s.maximum(dy, -1), 1)],
  )
  const g = s.grad((z: s.Tensor) => s.sum(s.mul(clipGrad(z), s.tensor64([5, 0.5]))))(s.tensor64([1, 1]))
  close(val(g), [1, 0.5])
  close(val(clipGrad(s.tensor64([2]))), [6])
})

test('vjp with explicit cotangents over tree outputs', () => {
  const { out, vjp } = s.vjp((p: any) => ({ a: s.mul(p.x, 2), b: s.sum(p.x) }), { x: s.tensor64([1, 2]) })
  const ct = vjp({ a: s.tensor64([1, 10]), b: s.tensor64(100) } as any) as any
  close(val(ct.x), [102, 120])
  close(val((out as any).a), [2, 4])
})

test('unused parameters get zero gradients of their shape', () => {
  const g = s.grad((p: any) => s.sum(p.a))({
    a: s.tensor64([1]),
    b: s.tensor64([
      [1, 2],
      [3, 4],
    ]),
  }) as any
  assert.deepEqual(s.runSync(g.b, { backend: ref }).shape, [2, 2])
  close(val(g.b), [0, 0, 0, 0])
})

test('grad requires a scalar output', () => {
  assert.throws(() => s.grad((x: s.Tensor) => s.exp(x))(s.tensor64([1, 2])), /grad: function must return a scalar, got shape \[2\]/)
})

test('run is async and agrees with runSync; backends agree', async () => {
  const f = s.sum(s.tanh(s.matmul(s.tensor([[1, 2]]), s.tensor([[0.1], [0.2]]))))
  const a = await s.run(f, { backend: s.cpuBackend() })
  const b = s.runSync(f, { backend: ref })
  assert.ok(Math.abs(a.data[0] - b.data[0]) < 1e-6)
})

test('the executor frees intermediates: no live buffers after a run', () => {
  const be = s.cpuBackend()
  let x: s.Tensor = s.constant(s.tensor([1, 2, 3]))
  for (let i = 0; i < 50; i++) x = s.tanh(s.add(x, 1))
  s.runSync({ y: x, z: s.sum(x) }, { backend: be })
  assert.equal(be.stats().liveBuffers, 0)
})

test('checkNumerics names the op that produced a NaN', () => {
  const y = s.sum(s.sqrt(s.sub(s.tensor([1, 2]), 1.5)))
  assert.throws(
    () => s.runSync(y, { backend: s.cpuBackend(), checkNumerics: true }),
    /checkNumerics: op 'sqrt' produced NaN at flat index 0 of output \[2\]/,
  )
  // without the flag the NaN flows through silently, as in every framework
  assert.ok(Number.isNaN(s.runSync(y, { backend: s.cpuBackend() }).data[0]))
})

test('a deep chain (10k nodes) traces, differentiates and runs without stack overflow', () => {
  let x: s.Tensor = s.constant(s.tensor64([0.5]))
  const x0 = x
  for (let i = 0; i < 10000; i++) x = s.mul(x, 1.0001)
  const [g] = s.backprop([x], [s.constant(s.tensor64([1]))], [x0])
  close(val(g), [1.0001 ** 10000], 1e-9) // scalars lift to float64 constants (exact on ref)
})
