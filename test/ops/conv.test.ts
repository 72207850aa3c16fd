import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { primTests } from '../harness.ts'
import { convCases } from './cases/conv.ts'

primTests(convCases)

const ref = ops.refBackend()

test('conv2d: a hand-computed 3×3 image with a 2×2 filter, valid and same', () => {
  const x = ops.tensor64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1])
  const w = ops.tensor64([1, 0, 0, -1], [2, 2, 1, 1]) // x[i,j] − x[i+1,j+1]
  const v = ops.runSync(ops.conv2d(x, w), { backend: ref })
  assert.deepEqual(v.shape, [1, 2, 2, 1])
  assert.deepEqual([...v.data], [-4, -4, -4, -4])
  // 'same' with stride 1 pads one row/column at the bottom/right only (TF)
  const s = ops.runSync(ops.conv2d(x, w, { padding: 'same' }), { backend: ref })
  assert.deepEqual(s.shape, [1, 3, 3, 1])
  assert.deepEqual([...s.data], [-4, -4, 3, -4, -4, 6, 7, 8, 9])
})

test("conv2d: 'same' with stride 2 gives ceil(in / stride) outputs", () => {
  const y = ops.conv2d(ops.zeros([2, 7, 8, 3]), ops.zeros([3, 3, 3, 5]), { strides: 2, padding: 'same' })
  assert.deepEqual(y.shape, [2, 4, 4, 5])
  assert.deepEqual(ops.resolvePads('conv2d', 'same', [7, 8], [3, 3], [2, 2]), [1, 1, 0, 1])
})

test('conv2d: shape errors name the op, the problem and both shapes', () => {
  assert.throws(() => ops.conv2d(ops.zeros([1, 5, 5, 3]), ops.zeros([3, 3, 4, 8])), {
    name: 'ShapeError',
    message: 'conv2d: input channels 3 ≠ filter in-channels 4: [1,5,5,3] × [3,3,4,8]',
  })
  assert.throws(() => ops.conv2d(ops.zeros([5, 5, 3]), ops.zeros([3, 3, 3, 8])), /conv2d: .*rank 4: \[5,5,3\] × \[3,3,3,8\]/)
  assert.throws(() => ops.conv2d(ops.zeros([1, 2, 2, 3]), ops.zeros([3, 3, 3, 8])), /conv2d: filter 3x3 larger than padded input 2x2/)
  assert.throws(() => ops.conv2d(ops.zeros([1, 5, 5, 3]), ops.zeros([3, 3, 3, 8]), { strides: 0 }), /conv2d: strides must be/)
  assert.throws(() => ops.conv2d(ops.zeros([1, 5, 5, 3]), ops.zeros([3, 3, 3, 8]), { padding: 'full' as never }), /conv2d: padding must be/)
  assert.throws(
    () =>
      ops.conv2dBackInput(ops.zeros([1, 4, 4, 8]), ops.zeros([3, 3, 3, 8]), { strides: [1, 1], pads: [0, 0, 0, 0], inShape: [1, 5, 5, 3] }),
    /conv2dBackInput: dy must have the conv output shape \[1,3,3,8\]/,
  )
})

test('conv2d: cpu matches ref on a 1×1 pointwise conv and on a multi-chunk strided one', () => {
  const k = ops.key(3)
  const [k1, k2, k3, k4] = ops.split(k, 4)
  const cases: [ops.HostTensor, ops.HostTensor, ops.Conv2dOptions][] = [
    // 480 pixels: two backFilter chunks of 256 rows
    [ops.normal(k1, [2, 15, 16, 7]), ops.normal(k2, [1, 1, 7, 9]), {}],
    // 2·40·40 output pixels × 288 taps spans two im2col chunks
    [ops.normal(k3, [2, 79, 80, 32]), ops.normal(k4, [3, 3, 32, 6]), { strides: 2, padding: 'same' }],
  ]
  for (const [x, w, o] of cases) {
    const f = (xx: ops.Tensor, ww: ops.Tensor) => ops.conv2d(xx, ww, o)
    const { out, vjp } = ops.vjp(([xx, ww]: ops.Tensor[]) => f(xx, ww), [x, w])
    const dy = ops.normal(ops.key(9), out.shape)
    const outs = [out, ...vjp(dy)]
    const want = ops.runSync(outs, { backend: ref })
    const got = ops.runSync(outs, { backend: ops.cpuBackend() })
    want.forEach((wt, i) => {
      const mag = Array.from(wt.data, Math.abs).reduce((m, v) => Math.max(m, v), 0)
      wt.data.forEach((v, j) => {
        assert.ok(Math.abs(v - got[i].data[j]) <= 1e-4 * mag, `output ${i} index ${j}: ${v} vs ${got[i].data[j]}`)
      })
    })
  }
})
