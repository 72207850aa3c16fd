import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as s from '../../src/index.ts'

const cpu = s.cpuBackend()
const ref = s.refBackend()
const bits = (t: s.HostTensor) => Array.from(new Uint32Array(new Float32Array(t.data).buffer))

/** One SGD step of a two-layer net: loss and new parameters (what a training loop compiles). */
const sgd = (a: { p: { w1: s.HostTensor; w2: s.HostTensor }; x: s.HostTensor; lr: number }) => {
  const { value, grad } = s.valueAndGrad((q: any) => s.mean(s.square(s.matmul(s.relu(s.matmul(a.x, q.w1)), q.w2))))(a.p)
  const g = grad as any
  return { loss: value, p: { w1: s.sub(a.p.w1, s.mul(g.w1, a.lr)), w2: s.sub(a.p.w2, s.mul(g.w2, a.lr)) }, x: a.x }
}

test('compile: the second call with the same shapes skips tracing and equals a fresh run bit for bit', async () => {
  const f = s.compile(sgd, { backend: cpu })
  const x = s.normal(s.key(1), [6, 5])
  let p = { w1: s.normal(s.key(2), [5, 7]), w2: s.normal(s.key(3), [7, 3]) }
  let q = p
  for (let i = 0; i < 3; i++) {
    const r = await f({ p, x, lr: 0.1 })
    const e = await s.run(sgd({ p: q, x, lr: 0.1 }), { backend: cpu })
    assert.deepEqual(bits(r.loss), bits(e.loss))
    assert.deepEqual(bits(r.p.w1), bits(e.p.w1))
    assert.deepEqual(bits(r.p.w2), bits(e.p.w2))
    assert.equal(r.x, x, 'a host argument passed through comes back as the same object')
    p = r.p
    q = e.p
  }
  assert.equal(f.traces(), 1)
  // a new shape or a new number traces again; the old signature stays cached
  await f({ p, x: s.normal(s.key(4), [2, 5]), lr: 0.1 })
  await f({ p, x, lr: 0.2 })
  await f({ p, x, lr: 0.1 })
  assert.equal(f.traces(), 3)
})

test('compile: arguments that are one object trace apart from distinct ones (no stale aliasing)', () => {
  const f = s.compile((a: { u: s.HostTensor; v: s.HostTensor }) => s.sub(a.u, a.v), { backend: ref })
  const u = s.tensor64([1, 2])
  assert.deepEqual(Array.from(f.sync({ u, v: u }).data), [0, 0])
  assert.deepEqual(Array.from(f.sync({ u, v: s.tensor64([1, 1]) }).data), [0, 1])
  assert.equal(f.traces(), 2)
})

test('compile: bad arguments and async misuse name compile', async () => {
  const f = s.compile((a: { u: s.HostTensor }) => s.neg(a.u), { backend: ref })
  assert.throws(() => f.sync({ u: 'x' as any }), /compile: argument leaf 0 is not a host tensor or number \(got string\)/)
  assert.deepEqual(Array.from((await f({ u: s.tensor64([3]) })).data), [-3])
  const g = s.compile((a: s.HostTensor) => s.neg(a), { backend: { ...ref, sync: false } })
  assert.throws(() => g.sync(s.tensor64([1])), /compile: backend 'ref' is asynchronous/)
})
