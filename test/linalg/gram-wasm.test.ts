/** The cpu backend's float64 Gram kernel (WASM f64x2 SYRK) against the host float64 loop: equal bit for bit. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { gramF64Wasm, gramThinWasm } from '../../src/backend/cpu/wasm/gram.ts'
import { createWasmRuntime, type WasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import { gramAccumulate } from '../../src/tensor/dense.ts'
import { fc } from '../../src/testing/index.ts'
import { fcParams } from '../harness.ts'

/** A runtime with `t` threads whose workers are all up. */
const runtime = async (t: number): Promise<WasmRuntime> => {
  const rt = createWasmRuntime(t)
  for (let i = 0; i < 200 && rt.threads() < t; i++) await new Promise((r) => setTimeout(r, 10))
  return rt
}

test('gramF64Wasm equals the host float64 Gram bit for bit (odd D, c, several inputs; 1 and 2 threads)', async () => {
  const rts = [await runtime(1), await runtime(2)]
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 21 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      (d, c, n, seed) => {
        const xs = Array.from({ length: n }, (_, i) => Float32Array.from(ss.normalArray(ss.key(seed + i), d * c)))
        const k = n * c
        const want = gramAccumulate(xs, d, c).g
        for (const rt of rts) {
          const { g, ld } = gramF64Wasm(rt, xs, d, c)
          for (let a = 0; a < k; a++)
            for (let b = a; b < k; b++) assert.equal(g[a * ld + b], want[a * k + b], `d ${d} c ${c} n ${n}: G[${a}][${b}]`)
        }
      },
    ),
    fcParams(25),
  )
})

test('cpu gram (WASM for K ≥ 8 and D·K² ≥ 2^18) equals cpu-js gram, packed hi + lo + scale', () => {
  const xs = [ss.normal(ss.key(1), [700, 20]), ss.normal(ss.key(2), [700, 20])]
  const wasm = ss.runSync(ss.gram(xs), { backend: ss.cpuBackend({ wasm: true }) })
  const js = ss.runSync(ss.gram(xs), { backend: ss.cpuBackend({ wasm: false }) })
  assert.deepEqual(wasm.shape, [81, 40])
  assert.deepEqual(Array.from(wasm.data), Array.from(js.data))
})

test('gramThinWasm (K < 8, columns read in place) equals the host float64 Gram to float64 rounding, bit for bit on 1 and 2 threads', async () => {
  const rts = [await runtime(1), await runtime(2)]
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70_000 }),
      fc.constantFrom([2, 1], [1, 2], [3, 1], [1, 5], [2, 3], [7, 1]),
      fc.integer({ min: 0, max: 1_000_000 }),
      (d, [n, c], seed) => {
        const xs = Array.from({ length: n }, (_, i) => Float32Array.from(ss.normalArray(ss.key(seed + i), d * c)))
        const k = n * c
        const want = gramAccumulate(xs, d, c).g
        const [one, two] = rts.map((rt) => gramThinWasm(rt, xs, d, c))
        assert.deepEqual(Array.from(two), Array.from(one), `d ${d} n ${n} c ${c}: thread counts disagree`)
        for (let a = 0; a < k; a++)
          for (let b = a; b < k; b++) {
            // a float64 sum of d products errs by at most d·2⁻⁵³·Σ|x_a x_b| ≤ d·2⁻⁵³·√(G_aa G_bb), in either order
            const tol = d * 2 ** -52 * Math.sqrt(want[a * k + a] * want[b * k + b])
            assert.ok(
              Math.abs(one[a * k + b] - want[a * k + b]) <= tol,
              `d ${d} n ${n} c ${c}: G[${a}][${b}] ${one[a * k + b]} vs ${want[a * k + b]}`,
            )
          }
      },
    ),
    fcParams(12),
  )
})

test('cpu gram of two long columns (thin WASM path, ≥ 2^17 rows) equals cpu-js gram to float64 rounding, packed hi + lo + scale', () => {
  const d = (1 << 17) + 3
  const xs = [ss.normal(ss.key(3), [d, 1]), ss.normal(ss.key(4), [d, 1])]
  const wasm = ss.runSync(ss.gram(xs), { backend: ss.cpuBackend({ wasm: true }) })
  const js = ss.runSync(ss.gram(xs), { backend: ss.cpuBackend({ wasm: false }) })
  assert.deepEqual(wasm.shape, [5, 2])
  assert.equal(wasm.data[8], js.data[8], 'scale')
  for (let e = 0; e < 4; e++) {
    const [a, b] = [wasm, js].map((g) => g.data[e] + g.data[4 + e])
    // either order of the d float64 sums errs by at most d·2⁻⁵³ of √(G_aa G_bb) (≤ 2 here: the columns are scaled by s)
    assert.ok(Math.abs(a - b) <= d * 2 ** -52 * 2, `G[${e}]: ${a} vs ${b}`)
  }
})
