/** The cpu backend's float64 Gram kernel (WASM f64x2 SYRK) against the host float64 loop: equal bit for bit. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { gramF64Wasm } from '../../src/backend/cpu/wasm/gram.ts'
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
