import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as s from '../../src/index.ts'
import { checkParity, checkVjp } from '../../src/testing/index.ts'

// a deliberately wrong VJP: the public checker must catch it
const badSquare: s.Primitive = {
  name: 'square',
  elementwise: { arity: 1, expr: 'a * a' },
  shape: ([x]) => x,
  vjp: (dy, [x]) => [s.mul(dy, s.mul(x, 2.001))],
}

test('checkVjp accepts a correct VJP and rejects one that is off by 0.05%', () => {
  const x = s.tensor64([0.3, -1.1, 2.2])
  assert.ok(checkVjp((z) => s.square(z), [x]).ok)
  const r = checkVjp((z) => s.bind(badSquare, [z]), [x])
  assert.equal(r.ok, false)
  assert.match(r.message, /VJP mismatch: finite difference .* vs vjp/)
})

test('checkParity catches a backend kernel that is wrong', async () => {
  const good = await checkParity((z) => s.exp(z), [s.tensor64([0.1, 0.2])], s.cpuBackend())
  assert.ok(good.ok)
  const broken = s.cpuBackend({ kernels: { exp: ([x]) => x.map((v) => Math.exp(v) * 1.01) } })
  const bad = await checkParity((z) => s.exp(z), [s.tensor64([0.1, 0.2])], broken)
  assert.equal(bad.ok, false)
  assert.match(bad.message, /cpu vs ref: forward differs at flat index 0/)
})
