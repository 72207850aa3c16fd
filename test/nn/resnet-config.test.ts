// ResNet configuration: the published layouts field by field, every positive-integer check named, the input check.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resnet, resnetLayouts } from '../../src/nn/resnet.ts'
import { key, normal } from '../../src/index.ts'

test('resnet layouts: ResNet-18/34 (7×7 s2 stem of 64 with max pool, widths 64…512) and the small net (3×3 s2 stem, no pool)', () => {
  const stem = { width: 64, kernel: 7, strides: 2, maxPool: true }
  assert.deepEqual(resnetLayouts.resnet18(3, 10), { inChannels: 3, outputs: 10, stem, widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2] })
  assert.deepEqual(resnetLayouts.resnet34(1, 13), { inChannels: 1, outputs: 13, stem, widths: [64, 128, 256, 512], blocks: [3, 4, 6, 3] })
  assert.deepEqual(resnetLayouts.small(2, 5, 4), {
    inChannels: 2,
    outputs: 5,
    stem: { width: 4, kernel: 3, strides: 2, maxPool: false },
    widths: [4, 8, 16],
    blocks: [1, 1, 1],
  })
})

test('resnet.init: each count must be a positive integer, named with its path and value; apply names a wrong input', () => {
  const base = { ...resnetLayouts.small(1, 3, 4), widths: [4, 8], blocks: [1, 1] }
  const bad: [object, string][] = [
    [{ inChannels: 0 }, 'inChannels must be a positive integer, got 0'],
    [{ outputs: 1.5 }, 'outputs must be a positive integer, got 1.5'],
    [{ stem: { ...base.stem, width: -2 } }, 'stem.width must be a positive integer, got -2'],
    [{ widths: [4, 0] }, 'widths[1] must be a positive integer, got 0'],
    [{ blocks: [0, 1] }, 'blocks[0] must be a positive integer, got 0'],
    [{ widths: [], blocks: [] }, 'widths [] and blocks [] must be non-empty and of equal length'],
  ]
  for (const [patch, msg] of bad)
    assert.throws(
      () => resnet.init(key(0), { ...base, ...patch }),
      (e: Error) => e instanceof Error && e.message.endsWith(msg),
      msg,
    )
  assert.doesNotThrow(() => resnet.init(key(0), { ...base, inChannels: 1, outputs: 1, widths: [1, 1] }))
  const { params, state } = resnet.init(key(1), base)
  for (const shape of [
    [1, 8, 8, 2],
    [8, 8, 1],
  ])
    assert.throws(() => resnet.apply(params, normal(key(2), shape), state, { training: false, config: base }), {
      message: `resnet.apply: expected x [N,H,W,1], got [${shape.join(',')}]`,
    })
})
