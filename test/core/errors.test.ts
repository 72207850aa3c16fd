import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as s from '../../src/index.ts'

const t = (shape: number[]) => s.zeros(shape)

test('elementwise: broadcast failures name the op and both shapes', () => {
  assert.throws(() => s.add(t([2, 3]), t([4])), /add: shapes cannot be broadcast: \[2,3\] and \[4\]/)
  assert.throws(() => s.where(t([2]), t([3]), t([2])), /where: shapes cannot be broadcast/)
  assert.throws(() => s.mul([1, 2] as any, t([2])), /mul: argument 0: expected a tensor.*an array/)
})

test('reductions: bad axes', () => {
  assert.throws(() => s.sum(t([2, 3]), 2), /sum: axis 2 out of range for rank 2/)
  assert.throws(() => s.max(t([2]), -2), /max: axis -2 out of range for rank 1/)
})

test('shape ops: reshape, transpose, slice, pad, concat, broadcastTo', () => {
  assert.throws(() => s.reshape(t([2, 3]), [4, 2]), /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/)
  assert.throws(() => s.reshape(t([2, 3]), [-1, -1]), /reshape: invalid target shape/)
  assert.throws(() => s.transpose(t([2, 3]), [0, 0]), /transpose: perm \[0,0\] is not a permutation/)
  assert.throws(() => s.slice(t([4]), [3], [2]), /slice: begin \[3\] \+ size \[2\] out of bounds of: \[4\]/)
  assert.throws(() => s.pad(t([4]), [[-1, 0]]), /pad: pads/)
  assert.throws(() => s.concat([t([2, 3]), t([2, 4])], 0), /concat: shapes differ off axis 0: \[2,3\] × \[2,4\]/)
  assert.throws(() => s.broadcastTo(t([3]), [2, 4]), /broadcastTo: shapes cannot be broadcast: \[3\] and \[2,4\]/)
  assert.throws(() => s.stack([t([2]), t([3])]), /stack: shapes differ: \[2\] vs \[3\]/)
})

test('matmul: inner dimensions, ranks, batch', () => {
  assert.throws(() => s.matmul(t([2, 3]), t([4, 5])), /matmul: inner dimensions differ: \[2,3\] × \[4,5\]/)
  assert.throws(() => s.matmul(t([3]), t([3, 1])), /matmul: operands must have rank ≥ 2/)
  assert.throws(() => s.matmul(t([2, 2, 3]), t([3, 3, 1])), /matmul: batch dimensions differ/)
})

test('host tensors: size mismatch and bad shapes', () => {
  assert.throws(() => s.tensor([1, 2, 3], [2, 2]), /tensor: 3 values do not fill shape \[2,2\] \(4 elements\)/)
  assert.throws(() => s.tensor([1], [1.5]), /tensor: invalid shape/)
})

test('run: a missing kernel is reported with op and backend before anything runs', () => {
  const fake: s.Primitive = { name: 'fancyOp', shape: ([x]) => x }
  assert.throws(
    () => s.runSync(s.bind(fake, [s.tensor([1])]), { backend: s.cpuBackend() }),
    /run: backend 'cpu' has no kernel for op 'fancyOp'/,
  )
})

test('vjp of a primitive without a VJP rule names it', () => {
  const fake: s.Primitive = { name: 'opaque', shape: ([x]) => x }
  assert.throws(() => s.grad((x: s.Tensor) => s.sum(s.bind(fake, [x])))(s.tensor([1])), /vjp: op 'opaque' is not differentiable/)
})
