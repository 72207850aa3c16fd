import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { arbPoolConfig, fc } from '../../src/testing/index.ts'
import { parityBackends, primTests, propertyTest } from '../harness.ts'
import { poolCases } from './cases/pool.ts'

primTests(poolCases)

const ref = ops.refBackend()

/**
 * Pooling straight from its definition, in float64, sharing no code with the kernels: window (i, j) covers input
 * rows i·sh − top … i·sh − top + kh − 1 and columns j·sw − left … j·sw − left + kw − 1; padded cells take no part.
 */
const poolByDefinition = (
  x: ops.HostTensor,
  [kh, kw]: readonly number[],
  [sh, sw]: readonly number[],
  [top, bottom, left, right]: readonly number[],
  kind: 'max' | 'avg',
): number[] => {
  const [n, h, w, c] = x.shape
  const out: number[] = []
  for (let b = 0; b < n; b++)
    for (let i = 0; i * sh + kh <= h + top + bottom; i++)
      for (let j = 0; j * sw + kw <= w + left + right; j++)
        for (let ch = 0; ch < c; ch++) {
          const cells: number[] = []
          for (let r = i * sh - top; r < i * sh - top + kh; r++)
            for (let q = j * sw - left; q < j * sw - left + kw; q++)
              if (r >= 0 && r < h && q >= 0 && q < w) cells.push(x.data[((b * h + r) * w + q) * c + ch])
          out.push(kind === 'max' ? Math.max(...cells) : cells.reduce((a, v) => a + v, 0) / cells.length)
        }
  return out
}

propertyTest(
  'maxPool/avgPool: every backend equals pooling by definition (rectangular windows, unequal strides, same/valid/explicit pads)',
  fc.asyncProperty(
    arbPoolConfig().chain((c) =>
      fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: c.n * c.h * c.w * c.c, maxLength: c.n * c.h * c.w * c.c }).map((v) => ({
        c,
        x: ops.tensor64(
          v.map((u) => u / 256),
          [c.n, c.h, c.w, c.c],
        ),
      })),
    ),
    async ({ c, x }) => {
      const pads = ops.resolvePads('test', c.padding, [c.h, c.w], c.size, c.strides)
      fc.pre(
        ops.outSize(c.h, c.size[0], c.strides[0], pads[0], pads[1]) >= 1 &&
          ops.outSize(c.w, c.size[1], c.strides[1], pads[2], pads[3]) >= 1,
      )
      const opts = { size: c.size, strides: c.strides, padding: c.padding }
      const want = { max: poolByDefinition(x, c.size, c.strides, pads, 'max'), avg: poolByDefinition(x, c.size, c.strides, pads, 'avg') }
      for (const be of [ref, ...parityBackends()]) {
        // values are multiples of 1/256 below 4 in magnitude: float32 holds them and their window sums exactly
        const [mx, av] = await ops.run([ops.maxPool(x, opts), ops.avgPool(x, opts)], { backend: be })
        for (const [kind, got] of [
          ['max', mx],
          ['avg', av],
        ] as const) {
          assert.equal(got.data.length, want[kind].length, `${be.name} ${kind}Pool ${JSON.stringify(c)}: output size`)
          got.data.forEach((v, i) => {
            assert.ok(Math.abs(v - want[kind][i]) <= 1e-6, `${be.name} ${kind}Pool ${JSON.stringify(c)} at ${i}: ${v} vs ${want[kind][i]}`)
          })
        }
      }
    },
  ),
  10,
)

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
