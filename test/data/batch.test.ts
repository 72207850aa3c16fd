import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  augment,
  batches,
  batchesPerEpoch,
  datasetSize,
  epochs,
  flipHorizontal,
  flipIndex68,
  generateFaces,
  oneHot,
  take,
  trainTestSplit,
  translate,
} from '../../src/data/index.ts'
import { fromData, type HostTensor } from '../../src/tensor/host.ts'
import { key } from '../../src/tensor/prng.ts'
import { fc } from '../../src/testing/index.ts'

const range = (n: number): HostTensor =>
  fromData(
    Float32Array.from({ length: n }, (_, i) => i),
    [n],
  )
const rows = (n: number): HostTensor =>
  fromData(
    Float32Array.from({ length: 2 * n }, (_, i) => i),
    [n, 2],
  )
const ids = (t: HostTensor): number[] => Array.from(t.data)

test('batches: every example exactly once per epoch, fields stay aligned, the key decides the order', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), (seed, n, b) => {
      const ds = { x: rows(n), y: range(n) }
      const bs = batches(key(seed), ds, { batchSize: b })
      assert.equal(bs.length, batchesPerEpoch(n, { batchSize: b }))
      const seen = bs.flatMap((batch) => ids(batch.y))
      assert.deepEqual(
        [...seen].sort((p, q) => p - q),
        ids(range(n)),
      )
      for (const batch of bs) {
        assert.ok(batch.y.shape[0] <= b)
        for (const [r, i] of batch.y.data.entries())
          assert.deepEqual(Array.from(batch.x.data.subarray(2 * r, 2 * r + 2)), [2 * i, 2 * i + 1])
      }
      const dropped = batches(key(seed), ds, { batchSize: b, dropLast: true })
      assert.equal(dropped.length, Math.floor(n / b))
      assert.ok(dropped.every((batch) => batch.y.shape[0] === b))
    }),
    { numRuns: 50 },
  )
  const ds = { y: range(30) }
  assert.deepEqual(ids(batches(null, ds, { batchSize: 30 })[0].y), ids(range(30)))
  assert.notDeepEqual(ids(batches(key(1), ds, { batchSize: 30 })[0].y), ids(batches(key(2), ds, { batchSize: 30 })[0].y))
})

test('epochs: reshuffles each epoch, reproducibly', () => {
  const ds = { y: range(10) }
  const steps = [...epochs(key(4), ds, { batchSize: 4, epochs: 3 })]
  assert.deepEqual(
    steps.map((s) => [s.epoch, s.step]),
    [0, 1, 2].flatMap((e) => [0, 1, 2].map((s) => [e, s])),
  )
  const order = (e: number) => steps.filter((s) => s.epoch === e).flatMap((s) => ids(s.batch.y))
  assert.notDeepEqual(order(0), order(1))
  assert.deepEqual(
    order(2),
    [...epochs(key(4), ds, { batchSize: 4, epochs: 3 })].filter((s) => s.epoch === 2).flatMap((s) => ids(s.batch.y)),
  )
  assert.throws(() => [...epochs(key(0), ds, { batchSize: 0, epochs: 1 })], /epochs: batchSize must be a positive integer, got 0/)
})

test('take, datasetSize, trainTestSplit, oneHot: results and errors', () => {
  const ds = { x: rows(5), y: range(5) }
  const t = take(ds, [4, 0, 4])
  assert.deepEqual(ids(t.y), [4, 0, 4])
  assert.deepEqual(ids(t.x), [8, 9, 0, 1, 8, 9])
  assert.throws(() => take(ds, [5]), /take: index 5 out of range \[0, 5\)/)
  assert.throws(() => datasetSize({ x: rows(5), y: range(4) }), /field 'y' has shape \[4\], expected leading axis 5 \(from 'x'\)/)
  const { train, test: held } = trainTestSplit(key(2), { y: range(20) }, 0.25)
  assert.equal(held.y.shape[0], 5)
  assert.deepEqual(
    [...ids(train.y), ...ids(held.y)].sort((a, b) => a - b),
    ids(range(20)),
  )
  assert.deepEqual(ids(oneHot(fromData(Float32Array.of(2, 0), [2]), 3)), [0, 0, 1, 1, 0, 0])
  assert.throws(() => oneHot(fromData(Float32Array.of(3), [1]), 3), /oneHot: label 0 is 3, expected an integer in \[0, 3\)/)
})

test('flipIndex68 is an involution that swaps sides and fixes the midline', () => {
  for (const [i, j] of flipIndex68.entries()) assert.equal(flipIndex68[j], i)
  for (const m of [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]) assert.equal(flipIndex68[m], m)
  assert.equal(flipIndex68.filter((j, i) => j === i).length, 10)
  assert.equal(flipIndex68[36], 45)
  assert.equal(flipIndex68[48], 54)
})

test('flipHorizontal: an involution; mirrored faces keep their left eye on the image left', () => {
  const f = generateFaces(key(6), { n: 8, domain: 'B' })
  const b = { images: f.images, landmarks: f.landmarks, labels: f.labels }
  const once = flipHorizontal(b)
  const twice = flipHorizontal(once)
  assert.deepEqual(Array.from(twice.images.data), Array.from(f.images.data))
  assert.ok(twice.landmarks!.data.every((v, i) => Math.abs(v - f.landmarks.data[i]) < 1e-6))
  assert.equal(once.labels, f.labels)
  const L = once.landmarks!.data
  for (let i = 0; i < 8; i++) {
    assert.ok(L[(i * 68 + 36) * 2] < L[(i * 68 + 45) * 2], 'point 36 left of point 45')
    assert.ok(L[(i * 68 + 0) * 2] < L[(i * 68 + 16) * 2], 'point 0 left of point 16')
    // the mirrored image at the mirrored landmark equals the original image at the original landmark
    for (const j of [36, 45, 48, 54, 17, 26]) {
      const px = (t: HostTensor, x: number, y: number) => t.data[(i * 48 + Math.floor(y * 48)) * 48 + Math.floor(x * 48)]
      const o = (i * 68 + j) * 2
      const m = (i * 68 + flipIndex68[j]) * 2
      assert.ok(Math.abs(f.landmarks.data[o] - (1 - L[m])) < 1e-6)
      const a = px(f.images, f.landmarks.data[o], f.landmarks.data[o + 1])
      assert.equal(px(once.images, L[m], L[m + 1]), a)
    }
  }
})

test('translate and augment: pixels and landmarks move together; keyed and reproducible', () => {
  const f = generateFaces(key(12), { n: 6 })
  const b = { images: f.images, landmarks: f.landmarks }
  const moved = translate(b, [2, -1, 0, 0, 3, 0], [0, 1, -2, 0, 0, 0])
  const px = (t: HostTensor, i: number, r: number, c: number) => t.data[(i * 48 + r) * 48 + c]
  assert.equal(px(moved.images, 0, 20, 22), px(f.images, 0, 20, 20))
  assert.equal(px(moved.images, 1, 21, 19), px(f.images, 1, 20, 20))
  assert.equal(px(moved.images, 0, 20, 0), px(f.images, 0, 20, 0)) // edge replicated
  assert.ok(Math.abs(moved.landmarks!.data[0] - (f.landmarks.data[0] + 2 / 48)) < 1e-6)
  assert.ok(Math.abs(moved.landmarks!.data[2 * 68 * 2 + 1] - (f.landmarks.data[2 * 68 * 2 + 1] - 2 / 48)) < 1e-6)
  assert.throws(() => translate(b, [1], [1]), /translate: dx and dy must hold 6 integers/)
  const a1 = augment(key(1), b, { flipProb: 0.5, maxShift: 2 })
  assert.deepEqual(Array.from(augment(key(1), b).images.data), Array.from(a1.images.data))
  assert.notDeepEqual(Array.from(augment(key(2), b).images.data), Array.from(a1.images.data))
  assert.deepEqual(Array.from(augment(key(1), b, { flipProb: 0, maxShift: 0 }).images.data), Array.from(f.images.data))
  // every augmented landmark set is the original mirrored or not, shifted by at most 2 px
  for (let i = 0; i < 6; i++) {
    const dx = a1.landmarks!.data[(i * 68 + 30) * 2] - f.landmarks.data[(i * 68 + 30) * 2]
    const dxFlip = a1.landmarks!.data[(i * 68 + 30) * 2] - (1 - f.landmarks.data[(i * 68 + 30) * 2])
    assert.ok(Math.min(Math.abs(dx), Math.abs(dxFlip)) <= 2 / 48 + 1e-6)
  }
  assert.throws(() => augment(key(0), b, { maxShift: 1.5 }), /augment: maxShift must be a non-negative integer, got 1.5/)
  assert.throws(() => augment(key(0), { images: fromData(new Float32Array(4), [2, 2]) }), /images must have shape \[N,H,W,C\], got \[2,2\]/)
})
