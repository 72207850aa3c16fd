import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { primTests } from '../harness.ts'
import { poolCases } from './cases/pool.ts'

primTests(poolCases)

const ref = ops.refBackend()
const x33 = ops.tensor64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1])

test("avgPool: 'same' windows divide by their valid (unpadded) count", () => {
  const y = ops.runSync(ops.avgPool(x33, { size: 2, strides: 1, padding: 'same' }), { backend: ref })
  assert.deepEqual(y.shape, [1, 3, 3, 1])
  assert.deepEqual([...y.data], [3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9])
})

test("maxPool: 'same' ignores padding (all-negative input stays negative) and default strides = size", () => {
  const y = ops.runSync(ops.maxPool(ops.neg(x33), { size: 2, strides: 1, padding: 'same' }), { backend: ref })
  assert.deepEqual([...y.data], [-1, -2, -3, -4, -5, -6, -7, -8, -9])
  const z = ops.maxPool(ops.zeros([2, 6, 7, 3]), { size: 2 })
  assert.deepEqual(z.shape, [2, 3, 3, 3])
})

test('maxPool: on ties the gradient goes to the first maximum in row-major window order', () => {
  const x = ops.tensor64([1, 3, 3, 2], [1, 2, 2, 1])
  for (const be of [ref, ops.cpuBackend()]) {
    const g = ops.runSync(ops.grad((t: ops.Tensor) => ops.sum(ops.maxPool(t, { size: 2 })))(ops.lift(x)), { backend: be })
    assert.deepEqual([...g.data], [0, 1, 0, 0], be.name)
    const s = ops.runSync(
      ops.maxPoolSelect(x, ops.tensor64([10, 20, 30, 40], [1, 2, 2, 1]), { size: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] }),
      { backend: be },
    )
    assert.deepEqual([...s.data], [20], be.name)
  }
})

test('globalAvgPool: mean over H and W', () => {
  const y = ops.runSync(ops.globalAvgPool(ops.tensor64([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2])), { backend: ref })
  assert.deepEqual(y.shape, [1, 2])
  assert.deepEqual([...y.data], [2.5, 25])
})

test('pooling: shape errors name the op, the problem and the shape', () => {
  assert.throws(() => ops.maxPool(ops.zeros([1, 2, 2, 1]), { size: 3 }), {
    name: 'ShapeError',
    message: 'maxPool: window 3x3 larger than padded input 2x2: [1,2,2,1]',
  })
  assert.throws(() => ops.avgPool(ops.zeros([2, 2, 1]), { size: 2 }), /avgPool: input must be rank 4 \[N,H,W,C\]: \[2,2,1\]/)
  assert.throws(
    () =>
      ops.avgPool(ops.zeros([1, 4, 4, 1]), {
        size: 2,
        padding: [
          [2, 0],
          [0, 0],
        ],
      }),
    /avgPool: pads \[2,0,0,0\] must be smaller than the window 2x2/,
  )
  assert.throws(() => ops.maxPool(ops.zeros([1, 4, 4, 1]), { size: 0 }), /maxPool: size must be a positive integer/)
  assert.throws(() => ops.globalAvgPool(ops.zeros([4, 4])), /globalAvgPool: input must be rank 4/)
})
