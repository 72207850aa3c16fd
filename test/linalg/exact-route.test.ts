/** The exact route on large matrices: the float64 Gram of any short side against closed-form oracles (knownPolar). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { frob, knownPolar, maxAbsDiff } from './helpers.ts'

const cpu = ss.cpuBackend()

/** Value and gradient (U Vᵀ) of the exact nuclear norm of an m × n known-spectrum matrix on cpu, and their errors. */
const exactOnCpu = (m: number, n: number, cond: number) => {
  const o = knownPolar(1, m, n, cond)
  const x = ss.fromData(Float32Array.from(o.m), [m, n])
  const { value, grad } = ss.valueAndGrad((w: ss.Tensor) => ss.nuclearNorm(w, { method: 'exact' }))(x)
  const r = ss.runSync({ value, grad }, { backend: cpu })
  const diff = Float64Array.from(r.grad.data, (g, i) => g - o.polar[i])
  return {
    value: Math.abs(r.value.data[0] - o.nuclear) / o.nuclear,
    max: maxAbsDiff(r.grad.data, o.polar),
    rel: frob(diff) / frob(o.polar),
    finite: r.grad.data.every(Number.isFinite),
  }
}

test('cpu exact route, 4608 × 1024 with condition number 1000: U Vᵀ within 5e-5 per entry (float32 Gram: 4.7e-2)', () => {
  // measured 1.0e-5 max |error|, 2.3e-5 relative (Frobenius), Σσ within 1.1e-8; the float32 GEMM Gram gave
  // 4.7e-2, 3.1e-2 and 7.6e-6 (σ ≈ 1e-3·σ₁ sat on its 1e-3 floor, and its Gram could not resolve it)
  const e = exactOnCpu(4608, 1024, 1000)
  assert.ok(e.max < 5e-5, `max |U Vᵀ error| ${e.max.toExponential(2)}`)
  assert.ok(e.rel < 1e-4, `relative U Vᵀ error ${e.rel.toExponential(2)}`)
  assert.ok(e.value < 1e-6, `relative Σσ error ${e.value.toExponential(2)}`)
})

test('cpu exact route resolves σ_min/σ₁ down to its floor 1e-5 at k = 256 (1152 × 256); below it the directions count as 0', () => {
  // U Vᵀ errs by ~6e-9·σ₁/σ_min (float32 input, eigenvectors and products): measured 8.7e-5 at 1e-4, 5.2e-4 at 1.25e-5
  for (const [cond, tol] of [
    [1e4, 2e-4],
    [8e4, 1e-3],
  ] as const) {
    const e = exactOnCpu(1152, 256, cond)
    assert.ok(e.rel < tol, `σ_min/σ₁ = ${1 / cond}: relative U Vᵀ error ${e.rel.toExponential(2)} ≥ ${tol}`)
  }
  // at 1/3e5 the smallest singular values fall under the floor: each dropped uvᵀ costs 1/16 of ‖U Vᵀ‖ (never NaN)
  const below = exactOnCpu(1152, 256, 3e5)
  assert.ok(below.finite)
  assert.ok(below.rel > 0.1, `relative U Vᵀ error ${below.rel.toExponential(2)} below the floor`)
})
