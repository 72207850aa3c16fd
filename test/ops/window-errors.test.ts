// Window checks of pooling and conv2d reached through the public ops: a pad as large as the window on each side, a
// window or filter larger than the padded input along each axis, and the sizes that just fit.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'

const x = ss.tensor64(new Array(1 * 4 * 3 * 2).fill(1), [1, 4, 3, 2])
type Pads = [[number, number], [number, number]]

test('maxPool / avgPool: a pad as large as the window on any side, or a window beyond the padded input, is named', () => {
  for (const pool of [ss.maxPool, ss.avgPool]) {
    const name = pool === ss.maxPool ? 'maxPool' : 'avgPool'
    const bad: [Pads, string][] = [
      [
        [
          [2, 0],
          [0, 0],
        ],
        '[2,0,0,0]',
      ],
      [
        [
          [0, 2],
          [0, 0],
        ],
        '[0,2,0,0]',
      ],
      [
        [
          [0, 0],
          [3, 0],
        ],
        '[0,0,3,0]',
      ],
      [
        [
          [0, 0],
          [0, 3],
        ],
        '[0,0,0,3]',
      ],
    ]
    for (const [padding, shown] of bad)
      assert.throws(() => pool(x, { size: [2, 3], strides: 1, padding }), {
        message: `${name}: pads ${shown} must be smaller than the window 2x3: [1,4,3,2]`,
      })
    assert.deepEqual(
      pool(x, {
        size: [2, 3],
        strides: 1,
        padding: [
          [1, 1],
          [2, 2],
        ],
      }).shape,
      [1, 5, 5, 2],
    )
    assert.throws(() => pool(x, { size: [5, 1], strides: 1, padding: 'valid' }), {
      message: `${name}: window 5x1 larger than padded input 4x3: [1,4,3,2]`,
    })
    assert.throws(() => pool(x, { size: [1, 4], strides: 1, padding: 'valid' }), {
      message: `${name}: window 1x4 larger than padded input 4x3: [1,4,3,2]`,
    })
    assert.deepEqual(pool(x, { size: [4, 3], strides: 1, padding: 'valid' }).shape, [1, 1, 1, 2])
  }
})

test('conv2d: a filter beyond the padded input along either axis is named; one that just fits gives a 1×1 output', () => {
  const w = (kh: number, kw: number) => ss.tensor64(new Array(kh * kw * 2).fill(1), [kh, kw, 2, 1])
  assert.throws(() => ss.conv2d(x, w(5, 1), { strides: 1, padding: 'valid' }), {
    message: 'conv2d: filter 5x1 larger than padded input 4x3: [1,4,3,2] × [5,1,2,1]',
  })
  assert.throws(() => ss.conv2d(x, w(1, 4), { strides: 1, padding: 'valid' }), {
    message: 'conv2d: filter 1x4 larger than padded input 4x3: [1,4,3,2] × [1,4,2,1]',
  })
  assert.deepEqual(ss.conv2d(x, w(4, 3), { strides: 1, padding: 'valid' }).shape, [1, 1, 1, 1])
  const padded: Pads = [
    [1, 0],
    [0, 1],
  ]
  assert.deepEqual(ss.conv2d(x, w(5, 4), { strides: 1, padding: padded }).shape, [1, 1, 1, 1])
  assert.throws(() => ss.conv2d(x, w(6, 4), { strides: 1, padding: padded }), {
    message: /conv2d: filter 6x4 larger than padded input 5x4/,
  })
})
