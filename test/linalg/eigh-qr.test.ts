/** The eigh and qr primitives: exact values, the backend floor, and second-order checks (their VJPs and psdPow's are written with ops). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { checkVjp } from '../../src/testing/index.ts'

/** Fixed float64 matrix from a list of rows. */
const m64 = (rows: readonly (readonly number[])[]): ss.HostTensor =>
  ss.fromData(Float64Array.from(rows.flat()), [rows.length, rows[0].length])

/** Symmetric 3 × 3 with eigenvalues 3, 1.5, 0.5 (well separated, positive). */
const spd = (() => {
  const q = ss.qrDecompose(
    m64([
      [0.9, -0.2, 0.4],
      [0.3, 1.1, -0.5],
      [-0.6, 0.2, 0.8],
    ]),
  ).q.data
  const lam = [3, 1.5, 0.5]
  const g = new Float64Array(9)
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let t = 0; t < 3; t++) g[i * 3 + j] += q[i * 3 + t] * lam[t] * q[j * 3 + t]
  return ss.fromData(g, [3, 3])
})()

/** x ↦ ∇_x ⟨c, f(x)⟩: its VJP is a second derivative of f. */
const gradOf = (f: (x: ss.Tensor) => ss.Tensor, c: ss.HostTensor) => (x: ss.Tensor) => ss.grad((y: ss.Tensor) => ss.sum(ss.mul(f(y), c)))(x)

const cotangent = (shape: readonly number[], seed: number): ss.HostTensor => ss.toFloat64(ss.normal(ss.key(seed), shape))

test('eigh: second-order VJP matches central differences of its gradient', () => {
  const r = checkVjp(
    gradOf((x) => ss.bind(ss.eighPrim, [x]), cotangent([4, 3], 1)),
    [spd],
  )
  assert.ok(r.ok, r.message)
})

test('psdPow (p = −½, Löwner VJP): second-order VJP matches central differences', () => {
  const r = checkVjp(
    gradOf((x) => ss.psdPow(x, -0.5), cotangent([3, 3], 2)),
    [spd],
  )
  assert.ok(r.ok, r.message)
})

test('qr: second-order VJP matches central differences', () => {
  const a = m64([
    [1.2, -0.3],
    [0.4, 0.9],
    [-0.5, 0.7],
    [0.2, -1.1],
  ])
  const r = checkVjp(
    gradOf((x) => ss.qr(x), cotangent([4, 2], 3)),
    [a],
  )
  assert.ok(r.ok, r.message)
})

test('polar at repeated singular values: finite gradient that matches central differences (Löwner ties, not 1/(λᵢ − λⱼ))', () => {
  // W = 2·[e1 e2] (σ = 2, 2): G ↦ G^{−½} is smooth at G = 4I, but differentiating through eigh would divide by λ₁ − λ₂ = 0
  const w = m64([
    [2, 0],
    [0, 2],
    [0, 0],
  ])
  const c = cotangent([3, 2], 4)
  const g = ss.runSync(ss.grad((x: ss.Tensor) => ss.sum(ss.mul(ss.polar(x), c)))(w), { backend: ss.refBackend() })
  assert.ok(g.data.every(Number.isFinite), `non-finite gradient ${Array.from(g.data)}`)
  const r = checkVjp((x) => ss.polar(x), [w])
  assert.ok(r.ok, r.message)
})

test('symEig: [[2, 1], [1, 2]] → λ = (3, 1), U = [[1, 1], [1, −1]]/√2 (largest entry positive, first on ties)', () => {
  const { values, vectors } = ss.symEig(
    m64([
      [2, 1],
      [1, 2],
    ]),
  )
  const r = ss.runSync({ values, vectors }, { backend: ss.refBackend() })
  const h = Math.SQRT1_2
  assert.deepEqual(r.values.shape, [2])
  for (const [i, v] of [3, 1].entries()) assert.ok(Math.abs(r.values.data[i] - v) < 1e-12, `λ${i} = ${r.values.data[i]}`)
  for (const [i, v] of [h, h, h, -h].entries()) assert.ok(Math.abs(r.vectors.data[i] - v) < 1e-12, `U = ${Array.from(r.vectors.data)}`)
})

test('eigh: U diag(λ) Uᵀ rebuilds ½(A + Aᵀ); eigenvalues under the backend floor are exactly 0 (ref and cpu)', () => {
  const a = m64([
    [1, 2, 0.5],
    [0, -1, 0.3],
    [0.7, 0.1, 2],
  ])
  const nearRank1 = m64([
    [1, 2, 3],
    [2, 4, 6],
    [3, 6, 9.000001],
  ]) // λ₂ = 1e-6·(5/14), λ₂/λ₁ ≈ 2.6e-8: below cpu's floor² (1e-6), above ref's (1e-12)
  for (const be of [ss.refBackend(), ss.cpuBackend()]) {
    const { values, vectors } = ss.symEig(a)
    const back = ss.matmul(ss.mul(vectors, ss.reshape(values, [1, 3])), vectors, { transB: true })
    const r = ss.runSync({ back, small: ss.symEig(nearRank1).values }, { backend: be })
    const tol = be.name === 'ref' ? 1e-12 : 1e-5
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const want = 0.5 * (a.data[i * 3 + j] + a.data[j * 3 + i])
        assert.ok(Math.abs(r.back.data[i * 3 + j] - want) < tol, `${be.name}: (${i}, ${j}) ${r.back.data[i * 3 + j]} vs ${want}`)
      }
    if (be.name === 'ref') assert.ok(Math.abs(r.small.data[1] - 5e-6 / 14) < 1e-12, `ref keeps λ₂ = ${r.small.data[1]}`)
    else assert.equal(r.small.data[1], 0, `cpu snaps λ₂ = ${r.small.data[1]} to 0`)
  }
})
