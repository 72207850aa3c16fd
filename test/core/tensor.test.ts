import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as s from '../../src/index.ts'
import { fc } from '../../src/testing/index.ts'

test('PRNG: same key, same draws; split keys differ; draws are pinned across platforms', () => {
  const k = s.key(42)
  assert.deepEqual(Array.from(s.normal(k, [5]).data), Array.from(s.normal(k, [5]).data))
  const [a, b] = s.split(k)
  assert.notDeepEqual(Array.from(s.uniform(a, [4]).data), Array.from(s.uniform(b, [4]).data))
  // golden values: integer hashing is exact everywhere; a change here changes every seeded experiment
  assert.deepEqual(
    Array.from(s.uniformArray(s.key(0), 3), (v) => Math.round(v * 1e9)),
    GOLDEN,
  )
  assert.deepEqual(Array.from(s.normal(s.key(7), [3]).data), [0.45950260758399963, 1.0565564632415771, 0.7566170692443848])
})
const GOLDEN = [145206884, 405449995, 68225653]

test('PRNG: uniform in range, normal has the right moments', () => {
  const u = s.uniform(s.key(1), [20000], -1, 3).data
  assert.ok(u.every((v) => v >= -1 && v < 3))
  const z = Array.from(s.normal(s.key(2), [20000]).data)
  const mean = z.reduce((a, v) => a + v, 0) / z.length
  const varr = z.reduce((a, v) => a + (v - mean) ** 2, 0) / z.length
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`)
  assert.ok(Math.abs(varr - 1) < 0.05, `var ${varr}`)
})

test('PRNG: permutation is a permutation', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50 }), (seed, n) => {
      const p = s.permutation(s.key(seed), n)
      assert.deepEqual(
        [...p].sort((x, y) => x - y),
        Array.from({ length: n }, (_, i) => i),
      )
    }),
  )
})

test('trees: treeMap keeps structure, leaves order, unflatten inverts, treeZip checks structure', () => {
  const tree = { a: s.tensor([1]), b: [s.tensor([2]), { c: s.tensor([3]) }] }
  assert.deepEqual(
    s.leaves(tree).map((l) => l.data[0]),
    [1, 2, 3],
  )
  const doubled = s.treeMap(tree, (l) => s.tensor([l.data[0] * 2])) as any
  assert.equal(doubled.b[1].c.data[0], 6)
  const back = s.unflatten(tree, s.leaves(tree)) as any
  assert.equal(back.b[0], tree.b[0])
  const sum = s.treeZip(tree, doubled, (x: any, y: any) => x.data[0] + y.data[0]) as any
  assert.equal(sum.b[1].c, 9)
  assert.throws(() => s.treeZip(tree, { a: 1, b: [1] }, () => 0), /treeZip: structures differ at b/)
  const paths: string[] = []
  s.treeMap(tree, (_l, p) => paths.push(p.join('.')))
  assert.deepEqual(paths, ['a', 'b.0', 'b.1.c'])
})

test('host tensors: nested arrays infer shape; item/toArray', () => {
  const x = s.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ])
  assert.deepEqual(x.shape, [2, 3])
  assert.deepEqual(s.toArray(x), [
    [1, 2, 3],
    [4, 5, 6],
  ])
  assert.equal(s.item(s.tensor(7)), 7)
  assert.throws(() => s.item(x), /item: tensor of shape \[2,3\] has 6 elements/)
})
