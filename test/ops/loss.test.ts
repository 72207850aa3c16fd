import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { primTests } from '../harness.ts'
import { lossCases } from './cases/loss.ts'

primTests(lossCases)

const ref = ops.refBackend()
const close = (got: ArrayLike<number>, want: readonly number[], tol = 1e-6) => {
  assert.equal(got.length, want.length)
  want.forEach((w, i) => {
    assert.ok(Math.abs(got[i] - w) <= tol * Math.max(1, Math.abs(w)), `index ${i}: ${got[i]} vs ${w}`)
  })
}

test('oneHot: rows, and a run-time error naming the op and the bad label on ref and cpu', () => {
  const y = ops.runSync(ops.oneHot(ops.tensor64([2, 0], [2]), 3), { backend: ref })
  assert.deepEqual(y.shape, [2, 3])
  assert.deepEqual([...y.data], [0, 0, 1, 1, 0, 0])
  for (const be of [ref, ops.cpuBackend()]) {
    assert.throws(
      () => ops.runSync(ops.oneHot(ops.tensor([0, 3]), 3), { backend: be }),
      /oneHot: label 3 at flat index 1 is not an integer in \[0, 3\)/,
    )
    assert.throws(() => ops.runSync(ops.oneHot(ops.tensor([0.5]), 3), { backend: be }), /oneHot: label 0.5/)
  }
  assert.throws(() => ops.oneHot(ops.tensor([0]), 0), /oneHot: depth must be a positive integer/)
})

test('softmaxCrossEntropy: hand values, and finite for huge logits on ref and cpu', () => {
  // logits [0, ln 3] → softmax [1/4, 3/4]; target class 1 → −ln(3/4)
  const l = ops.tensor64([0, Math.log(3), 1000, 0], [2, 2])
  const t = ops.tensor64([0, 1, 1, 0], [2, 2])
  for (const be of [ref, ops.cpuBackend()]) {
    const v = ops.runSync(ops.softmaxCrossEntropy(l, t), { backend: be })
    close(v.data, [-Math.log(0.75), 0], 1e-6)
    const s = ops.runSync(ops.sparseSoftmaxCrossEntropy(l, ops.tensor64([1, 0], [2])), { backend: be })
    close(s.data, [-Math.log(0.75), 0], 1e-6)
    const p = ops.runSync(ops.softmax(ops.tensor([1000, 0, -1000])), { backend: be })
    close(p.data, [1, 0, 0])
  }
})

test('l1Loss, l2Loss, moments, batchNormMath, linear: hand values', () => {
  const [l1, l2] = ops.runSync(
    [ops.l1Loss(ops.tensor64([1, -2]), ops.tensor64([0, 0])), ops.l2Loss(ops.tensor64([1, -2]), ops.tensor64([0, 0]))],
    { backend: ref },
  )
  close(l1.data, [1.5])
  close(l2.data, [2.5])
  const x = ops.tensor64([1, 10, 3, 30], [2, 2])
  const { mean, variance } = ops.moments(x, 0)
  const [m, v] = ops.runSync([mean, variance], { backend: ref })
  close(m.data, [2, 20])
  close(v.data, [1, 100])
  const bn = ops.runSync(ops.batchNormMath(x, m, v, ops.tensor64([1, 2]), ops.tensor64([0, 5]), 0), { backend: ref })
  close(bn.data, [-1, 3, 1, 7])
  const lin = ops.runSync(ops.linear(ops.tensor64([1, 2]), ops.tensor64([1, 0, 0, 1, 1, 1], [2, 3]), ops.tensor64([0, 0, 10])), {
    backend: ref,
  })
  close(lin.data, [3, 2, 12]) // 1·[1,0,0] + 2·[1,1,1] + [0,0,10]
})

test('losses: shape errors name the op and both shapes', () => {
  assert.throws(() => ops.softmaxCrossEntropy(ops.zeros([2, 3]), ops.zeros([2, 4])), {
    name: 'ShapeError',
    message: 'softmaxCrossEntropy: logits and targets shapes differ: [2,3] × [2,4]',
  })
  assert.throws(() => ops.sparseSoftmaxCrossEntropy(ops.zeros([2, 3]), ops.zeros([3])), /sparseSoftmaxCrossEntropy: .*: \[2,3\] × \[3\]/)
  assert.throws(() => ops.l2Loss(ops.zeros([2, 3]), ops.zeros([3, 2])), /l2Loss: prediction and target shapes differ: \[2,3\] × \[3,2\]/)
  assert.throws(() => ops.l1Loss(ops.zeros([2]), ops.zeros([2, 1])), /l1Loss: prediction and target shapes differ/)
  assert.throws(() => ops.linear(ops.zeros([2, 3]), ops.zeros([4, 5]), ops.zeros([5])), /linear: .*\[2,3\] × \[4,5\]/)
  assert.throws(() => ops.linear(ops.zeros([2, 4]), ops.zeros([4, 5]), ops.zeros([4])), /linear: bias must be \[5\]/)
})
