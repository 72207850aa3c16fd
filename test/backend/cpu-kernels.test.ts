/**
 * The cpu backend's own JS kernels on both variants (WASM GEMM/conv where the host has it, and plain JS) against ref:
 * movement fast paths (run lengths 1, < 16, ≥ 16), contiguous and strided reductions, conv chunks, and the buffer pool.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { suffixPeriod, tile } from '../../src/backend/cpu/elementwise.ts'
import { bufferPool } from '../../src/backend/cpu/pool-alloc.ts'
import { arbDim, fc } from '../../src/testing/index.ts'
import { propertyTest } from '../harness.ts'

const ref = ss.refBackend()
const variants = [ss.cpuBackend(), ss.cpuBackend({ wasm: false })]

/** Every output of `build` on each cpu variant equals ref's within float32 rounding. */
const sameAsRef = (build: () => ss.Tensor[], what: string, tol = 1e-6): void => {
  const want = ss.runSync(build(), { backend: ref })
  for (const be of variants) {
    const got = ss.runSync(build(), { backend: be })
    want.forEach((w, k) => {
      assert.deepEqual(got[k].shape, w.shape, `${be.name} ${what}: output ${k} shape`)
      w.data.forEach((v, i) => {
        assert.ok(
          Math.abs(got[k].data[i] - v) <= tol * (1 + Math.abs(v)),
          `${be.name} ${what}: output ${k} at ${i}: ${got[k].data[i]} vs ${v}`,
        )
      })
    })
  }
}

const arbTensorOf = (shape: number[]) =>
  fc.array(fc.integer({ min: -512, max: 512 }), { minLength: ss.sizeOf(shape), maxLength: ss.sizeOf(shape) }).map((v) =>
    ss.tensor64(
      v.map((u) => u / 64),
      shape,
    ),
  )

propertyTest(
  'cpu concat, slice, sum, max, broadcastTo equal ref (run lengths 1, < 16 and ≥ 16; one, none or two sliced axes)',
  fc.property(
    fc.tuple(arbDim(1, 3), arbDim(1, 5), fc.constantFrom(1, 3, 17)).chain(([a, b, c]) =>
      fc.record({
        shape: fc.constant([a, b, c]),
        x: arbTensorOf([a, b, c]),
        y: arbTensorOf([a, b, c]),
        axis: fc.integer({ min: 0, max: 2 }),
        begin: fc.tuple(fc.integer({ min: 0, max: a - 1 }), fc.integer({ min: 0, max: b - 1 }), fc.integer({ min: 0, max: c - 1 })),
        cuts: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        axes: fc.constantFrom([0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2], []),
      }),
    ),
    ({ shape, x, y, axis, begin, cuts, axes }) => {
      const b = begin.map((v, i) => (cuts[i] ? v : 0))
      const size = shape.map((d, i) => (cuts[i] ? d - b[i] : d))
      sameAsRef(
        () => [
          ss.concat([x, y], axis),
          ss.concat([x, ss.slice(y, [0, 0, 0], [shape[0], shape[1], 1]), y], 2),
          ss.slice(x, b, size),
          ss.sum(x, axes),
          ss.max(x, axes),
          ss.broadcastTo(ss.slice(x, [0, 0, 0], [1, shape[1], shape[2]]), [2, ...shape]),
          ss.broadcastTo(ss.slice(x, [0, 0, 0], [shape[0], shape[1], 1]), shape),
        ],
        JSON.stringify({ shape, axis, b, size, axes }),
      )
    },
  ),
  20,
)

test('cpu conv2d and its gradients equal ref across im2col chunks and on the 1×1 pointwise path', () => {
  const [k1, k2, k3] = ss.split(ss.key(21), 3)
  // N·OH·OW = 2·13·12 = 312 rows: more than one 256-row backFilter chunk
  for (const [xs, ws, strides, padding] of [
    [[2, 13, 12, 3], [3, 2, 3, 5], 1, 'same'],
    [[2, 13, 12, 3], [1, 1, 3, 4], 1, 'valid'],
    [[1, 7, 9, 2], [1, 1, 2, 3], 2, 'same'],
    [
      [1, 6, 6, 2],
      [3, 3, 2, 2],
      [2, 1],
      [
        [0, 2],
        [1, 0],
      ],
    ],
  ] as const) {
    const x = ss.normal(k1, [...xs])
    const w = ss.normal(k2, [...ws])
    const build = () => {
      const y = ss.conv2d(x, w, { strides: strides as any, padding: padding as any })
      const c = ss.normal(k3, y.shape)
      const g = ss.grad((p: { a: ss.Tensor; b: ss.Tensor }) =>
        ss.sum(ss.mul(ss.conv2d(p.a, p.b, { strides: strides as any, padding: padding as any }), c)),
      )({ a: x, b: w })
      const [dx, dw] = [g.a, g.b]
      return [y, dx, dw]
    }
    sameAsRef(build, JSON.stringify({ xs, ws, strides, padding }), 1e-4)
  }
})

test('cpu buffer pool: exact-length reuse, never a buffer handed out by read, capped free bytes, repeated runs stay correct', () => {
  const p = bufferPool(64)
  const a = p.alloc(4)
  assert.equal(a.length, 4)
  p.release(a)
  assert.equal(p.stats().freeBytes, 16)
  assert.equal(p.alloc(3) === a, false, 'another length gets a fresh buffer')
  assert.equal(p.alloc(4), a, 'same length reuses')
  assert.equal(p.stats().freeBytes, 0)
  p.release(a)
  p.release(a)
  assert.equal(p.stats().freeBytes, 16, 'a double release is ignored')
  p.release(new Float32Array(4))
  assert.equal(p.stats().freeBytes, 16, 'foreign buffers are ignored')
  const b = p.alloc(4)
  p.exported(b)
  p.release(b)
  assert.equal(p.stats().freeBytes, 0, 'exported buffers are never recycled')
  const big = p.alloc(32)
  p.release(big)
  assert.equal(p.stats().freeBytes, 0, 'over the cap: dropped')
  assert.deepEqual(p.stats(), { reused: 2, fresh: 3, freeBytes: 0 })
  // the cap is inclusive; two free buffers of one length are both kept; the default cap (512 MiB) recycles
  const q = bufferPool(32)
  const [u, v] = [q.alloc(4), q.alloc(4)]
  q.release(u)
  q.release(v)
  assert.equal(q.stats().freeBytes, 32)
  const again = [q.alloc(4), q.alloc(4)]
  assert.ok(again.includes(u) && again.includes(v), 'both free buffers are reused (identity, not just equal contents)')
  const d = bufferPool()
  const big1 = d.alloc(1 << 20)
  d.release(big1)
  assert.equal(d.alloc(1 << 20), big1)
  // one backend, several runs: recycled buffers must not leak stale values or alias results already read
  for (const be of variants) {
    const x = ss.tensor64([1, -2, 3, -4], [2, 2])
    const first = ss.runSync(ss.relu(ss.add(x, 1)), { backend: be })
    const second = ss.runSync(ss.mul(ss.exp(ss.relu(x)), 2), { backend: be })
    assert.deepEqual([...first.data], [2, 0, 4, 0], be.name)
    assert.deepEqual(
      [...second.data].map((v) => Math.round(v * 1e4) / 1e4),
      [5.4366, 2, 40.1711, 2],
      be.name,
    )
  }
})

test('suffixPeriod: the period of a broadcast operand that repeats one trailing block, undefined otherwise; tile repeats it', () => {
  const cases: [number[], number[], number | undefined][] = [
    [[3], [4, 5, 3], 3],
    [[1, 5, 3], [4, 5, 3], 15],
    [[1, 1, 3], [4, 5, 3], 3],
    [[4, 5, 3], [4, 5, 3], 60],
    [[1, 4, 5, 3], [4, 5, 3], 60],
    [[], [2, 3], 1],
    [[1, 1], [2, 3], 1],
    [[5, 1], [4, 5, 3], undefined],
    [[4, 1, 3], [4, 5, 3], undefined],
    [[2, 3], [4, 5, 3], undefined],
    [[5], [4, 5, 3], undefined],
    [[2, 4, 5, 3], [4, 5, 3], undefined],
  ]
  for (const [s, out, want] of cases) assert.equal(suffixPeriod(s, out), want, `${JSON.stringify(s)} → ${JSON.stringify(out)}`)
  assert.deepEqual(Array.from(tile(Float32Array.from([1, 2, 3, 9]), 3, 9)), [1, 2, 3, 1, 2, 3, 1, 2, 3])
})
