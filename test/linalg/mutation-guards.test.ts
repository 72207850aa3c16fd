// src/linalg argument checks and the rcond cut on both exact routes, which the value and property tests do not reach
// (each kills survivors of the src/linalg mutation run; see test/MUTATION.md).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { eigh, nuclearNormOfColumns, qrDecompose, randomizedSvd, svd } from '../../src/linalg/index.ts'

const ref = ss.refBackend()

/** diag(d) as a float64 matrix. */
const diag = (d: readonly number[]): ss.HostTensor => {
  const n = d.length
  const a = new Float64Array(n * n)
  d.forEach((v, i) => {
    a[i * n + i] = v
  })
  return ss.fromData(a, [n, n])
}
const gradOf = (m: ss.HostTensor, opts: ss.SvdOptions) =>
  ss.runSync(ss.grad((x: ss.Tensor) => ss.nuclearNorm(x, opts))(m), { backend: ref })

test('nuclearNorm rcond: singular values ≤ rcond·σ₁ drop out of the gradient on both exact routes (Gram ≤ 32 and beyond)', () => {
  for (const n of [2, 34]) {
    const d = Array.from({ length: n }, (_, i) => (i === 1 ? 0.1 : 1))
    const m = diag(d)
    const full = gradOf(m, {})
    const cut = gradOf(m, { rcond: 0.5 })
    assert.ok(Math.abs(full.data[n + 1] - 1) < 1e-9, `n ${n}: no cut, ∂/∂σ₂ = 1, got ${full.data[n + 1]}`)
    assert.ok(Math.abs(cut.data[n + 1]) < 1e-9, `n ${n}: rcond 0.5 cuts σ₂ = 0.1, got ${cut.data[n + 1]}`)
    assert.ok(Math.abs(cut.data[0] - 1) < 1e-9, `n ${n}: σ₁ kept, got ${cut.data[0]}`)
  }
  const cols = [ss.tensor64([1, 0], [2, 1]), ss.tensor64([0, 0.1], [2, 1])]
  const g = ss.runSync(ss.grad((xs: ss.Tensor[]) => nuclearNormOfColumns(xs, { rcond: 0.5 }))(cols), { backend: ref })
  assert.ok(Math.abs(g[1].data[1]) < 1e-9 && Math.abs(g[0].data[0] - 1) < 1e-9, `columns: ${[...g[0].data, ...g[1].data]}`)
})

test('linalg argument errors name the function and the value: rcond, thinMax, empty column lists, host svd / qr / eigh shapes', () => {
  const m = diag([1, 2])
  for (const r of [-0.1, 1, '0.1'])
    assert.throws(() => ss.nuclearNorm(m, { rcond: r as number }), {
      message: `nuclearNorm: opts.rcond must be a number in [0, 1), got ${String(r)}`,
    })
  assert.doesNotThrow(() => ss.nuclearNorm(m, { rcond: 0 }))
  for (const t of [-1, 1.5])
    assert.throws(() => ss.nuclearNorm(m, { thinMax: t }), {
      message: `nuclearNorm: opts.thinMax must be a non-negative integer, got ${t}`,
    })
  assert.doesNotThrow(() => ss.nuclearNorm(m, { thinMax: 0 }))
  assert.throws(() => nuclearNormOfColumns([]), { message: 'nuclearNormOfColumns: needs at least one matrix' })
  assert.throws(() => nuclearNormOfColumns([ss.tensor64([1], [1, 1])], { rcond: 2 }), {
    message: 'nuclearNormOfColumns: opts.rcond must be a number in [0, 1), got 2',
  })
  const v3 = ss.tensor64([1, 2, 3], [3])
  assert.throws(() => svd(v3), { message: 'svd: expects a matrix, got [3]' })
  assert.throws(() => qrDecompose(v3), { message: 'qrDecompose: expects an m × n matrix with m ≥ n, got [3]' })
  assert.throws(() => qrDecompose(ss.tensor64([1, 2], [1, 2])), { message: 'qrDecompose: expects an m × n matrix with m ≥ n, got [1,2]' })
  assert.throws(() => eigh(v3), { message: 'eigh: expects a square matrix, got [3]' })
  assert.throws(() => eigh(ss.tensor64([1, 2], [1, 2])), { message: 'eigh: expects a square matrix, got [1,2]' })
  assert.throws(() => eigh(ss.tensor64([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])), { message: 'eigh: expects a square matrix, got [2,2,2]' })
})

test('randomizedSvd of a wide matrix: u [m, k], s [k], v [n, k] with u·diag(s)·vᵀ = M at full rank', async () => {
  const m = ss.tensor64([3, 0, 0, 0, 0, 0, 2, 0, 0, 0], [2, 5])
  const r = await randomizedSvd(m, { rank: 2, key: ss.key(1), backend: ref, oversampling: 0 })
  assert.deepEqual([r.u.shape, r.s.shape, r.v.shape], [[2, 2], [2], [5, 2]])
  assert.ok(Math.abs(r.s.data[0] - 3) < 1e-9 && Math.abs(r.s.data[1] - 2) < 1e-9, `s ${[...r.s.data]}`)
})
