/** The JS GEMM switches loop order at n = 32: both orders, all transpose flags and batches, on both cpu variants, against ref. */
import assert from 'node:assert/strict'
import * as ss from '../../src/index.ts'
import { fc } from '../../src/testing/index.ts'
import { propertyTest } from '../harness.ts'

for (const wasm of [false, 'auto'] as const) {
  const be = ss.cpuBackend({ wasm })
  propertyTest(
    `${be.name} matmul matches ref on both sides of the n = 32 loop-order switch (transA/transB, batched)`,
    fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 9 }),
        k: fc.integer({ min: 1, max: 9 }),
        n: fc.constantFrom(1, 3, 31, 32, 45),
        batch: fc.constantFrom([], [2]),
        transA: fc.boolean(),
        transB: fc.boolean(),
      }),
      fc.integer({ min: 0, max: 1e6 }),
      ({ m, k, n, batch, transA, transB }, seed) => {
        const a = ss.normal(ss.key(seed), [...batch, ...(transA ? [k, m] : [m, k])])
        const b = ss.normal(ss.key(seed + 1), [...batch, ...(transB ? [n, k] : [k, n])])
        const y = ss.bind(ss.matmulPrim, [a, b], { transA, transB })
        const want = ss.runSync(y, { backend: ss.refBackend() })
        const got = ss.runSync(y, { backend: be })
        assert.deepEqual(got.shape, [...batch, m, n])
        for (let i = 0; i < want.data.length; i++)
          assert.ok(
            Math.abs(want.data[i] - got.data[i]) <= 1e-5 * (1 + Math.abs(want.data[i])),
            `index ${i}: ${got.data[i]} vs ${want.data[i]}`,
          )
      },
    ),
    30,
  )
}
