/** Properties of the dense factorizations, the randomized SVD and the nuclear-norm subgradient. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { jacobiEigh } from '../../src/tensor/dense.ts'
import { checkVjp, fc } from '../../src/testing/index.ts'
import { arbSpectral, dot, frob, host, mat, matmulH, maxAbsDiff, transposeH, withSpectrum } from './helpers.ts'
import { fcParams } from '../harness.ts'

const ref = ss.refBackend()
const cpu = ss.cpuBackend()
// a fresh seed per run (FC_SEED / FC_PATH replay one), more runs under CI=true
const opts = fcParams
const eye = (k: number) => Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0))

test('qr: Q orthonormal, R upper triangular, QR = A (host and the qr primitive agree)', () => {
  fc.assert(
    fc.property(
      arbSpectral({ deficient: true }).filter(({ m, n }) => m >= n),
      ({ a }) => {
        const { q, r } = ss.qrDecompose(host(a))
        const Q = mat(q)
        const R = mat(r)
        assert.ok(maxAbsDiff(matmulH(Q, Q, true).data, eye(a.n)) < 1e-12, 'QᵀQ = I')
        for (let i = 0; i < a.n; i++) for (let j = 0; j < i; j++) assert.equal(R.data[i * a.n + j], 0)
        assert.ok(maxAbsDiff(matmulH(Q, R).data, a.data) < 1e-12, 'QR = A')
        const qg = ss.runSync(ss.qr(host(a)), { backend: ref })
        assert.ok(maxAbsDiff(qg.data, Q.data) < 1e-12)
      },
    ),
    opts(40),
  )
})

test('svd: U, V orthonormal, σ sorted ≥ 0 and equal to the spectrum, U diag(σ) Vᵀ = A', () => {
  fc.assert(
    fc.property(arbSpectral({ maxM: 8, maxN: 8 }), ({ a, spectrum }) => {
      const { u, s, v } = ss.svd(host(a))
      const k = s.shape[0]
      assert.equal(k, Math.min(a.m, a.n))
      for (let i = 0; i < k; i++) assert.ok(s.data[i] >= 0 && (i === 0 || s.data[i] <= s.data[i - 1]))
      const want = [...spectrum, ...new Array(k - spectrum.length).fill(0)]
      assert.ok(maxAbsDiff(s.data, want) < 1e-10, `σ ${Array.from(s.data)} vs ${want}`)
      assert.ok(maxAbsDiff(matmulH(mat(u), mat(u), true).data, eye(k)) < 1e-10, 'UᵀU = I')
      assert.ok(maxAbsDiff(matmulH(mat(v), mat(v), true).data, eye(k)) < 1e-10, 'VᵀV = I')
      const us = { data: u.data.map((x, i) => x * s.data[i % k]) as Float64Array, m: a.m, n: k }
      assert.ok(maxAbsDiff(matmulH(us, mat(v), false, true).data, a.data) < 1e-10, 'reconstruction')
    }),
    opts(40),
  )
})

test('eigh: A V = V diag(λ), λ descending', () => {
  fc.assert(
    fc.property(arbSpectral({ maxM: 6, maxN: 6 }), ({ a }) => {
      const g = matmulH(a, a, true)
      const { values, vectors } = ss.eigh(host(g))
      const V = mat(vectors)
      const av = matmulH(g, V)
      for (let i = 0; i < g.n; i++)
        for (let j = 0; j < g.n; j++) assert.ok(Math.abs(av.data[i * g.n + j] - V.data[i * g.n + j] * values.data[j]) < 1e-10)
      for (let i = 1; i < g.n; i++) assert.ok(values.data[i] <= values.data[i - 1])
    }),
    opts(30),
  )
})

test('eigh beyond 32 (tridiagonal QL): A V = V diag(λ), VᵀV = I, eigenvalues match Jacobi', () => {
  fc.assert(
    fc.property(fc.integer({ min: 33, max: 60 }), fc.integer({ min: 0, max: 1e6 }), fc.boolean(), (n, seed, deficient) => {
      // a Gram matrix, rank-deficient half of the time (repeated zero eigenvalues)
      const x = { data: ss.normalArray(ss.key(seed), n * (deficient ? 20 : n + 3)), m: deficient ? 20 : n + 3, n }
      const g = matmulH(x, x, true)
      const { values, vectors } = ss.eigh(host(g))
      const V = mat(vectors)
      const scale = values.data[0]
      assert.ok(maxAbsDiff(matmulH(V, V, true).data, eye(n)) < 1e-10, 'VᵀV = I')
      const av = matmulH(g, V)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) assert.ok(Math.abs(av.data[i * n + j] - V.data[i * n + j] * values.data[j]) < 1e-10 * scale)
      const jac = jacobiEigh(g.data, n).values
      assert.ok(maxAbsDiff(jac, values.data) < 1e-10 * scale)
    }),
    opts(8),
  )
})

test('randomizedSvd: on rank-k plus small noise, the top-k σ are within 1e-3 relative of the exact ones', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        m: fc.integer({ min: 20, max: 60 }),
        n: fc.integer({ min: 20, max: 60 }),
        k: fc.integer({ min: 1, max: 5 }),
        seed: fc.integer({ min: 0, max: 1e6 }),
        q: fc.integer({ min: 1, max: 2 }),
      }),
      async ({ m, n, k, seed, q }) => {
        const spectrum = Array.from({ length: k }, (_, i) => 10 / (1 + i))
        const low = withSpectrum(seed, m, n, spectrum)
        const noise = ss.normalArray(ss.key(seed + 1), m * n)
        const a = { ...low, data: low.data.map((x, i) => x + 1e-3 * noise[i]) }
        const exact = ss.svd(host(a)).s.data
        const r = await ss.randomizedSvd(host(a), { rank: k, oversampling: 5, powerIters: q, key: ss.key(seed), backend: ref })
        for (let i = 0; i < k; i++) assert.ok(Math.abs(r.s.data[i] - exact[i]) <= 1e-3 * exact[i], `σ${i}: ${r.s.data[i]} vs ${exact[i]}`)
        // the factors reconstruct the rank-k part
        const us = { data: r.u.data.map((x, i) => x * r.s.data[i % k]) as Float64Array, m, n: k }
        assert.ok(frob(matmulH(us, mat(r.v), false, true).data.map((x, i) => x - low.data[i])) < 0.05 * frob(low.data))
      },
    ),
    opts(15),
  )
})

test('randomized polar factor: with rank ≥ rank(W) it equals the exact U Vᵀ (ref and cpu)', () => {
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 12, max: 30 }),
        n: fc.integer({ min: 12, max: 30 }),
        r: fc.integer({ min: 1, max: 4 }),
        extra: fc.integer({ min: 0, max: 2 }),
        seed: fc.integer({ min: 0, max: 1e6 }),
      }),
      ({ m, n, r, extra, seed }) => {
        const a = withSpectrum(
          seed,
          m,
          n,
          Array.from({ length: r }, (_, i) => 3 - 0.5 * i),
        )
        const exact = ss.runSync(ss.polar(host(a), { method: 'exact' }), { backend: ref })
        const o = { method: 'randomized' as const, rank: r + extra, oversampling: 2, powerIters: 1, key: ss.key(seed) }
        const rnd = ss.runSync(ss.polar(host(a), o), { backend: ref })
        assert.ok(maxAbsDiff(rnd.data, exact.data) < 1e-8, `ref: ${maxAbsDiff(rnd.data, exact.data)}`)
        const rc = ss.runSync(ss.polar(ss.toFloat32(host(a)), o), { backend: cpu })
        assert.ok(maxAbsDiff(rc.data, exact.data) < 1e-3, `cpu: ${maxAbsDiff(rc.data, exact.data)}`)
      },
    ),
    opts(20),
  )
})

/** U_r V_rᵀ over the nonzero singular values, from the host SVD (the oracle). */
const svdPolar = (a: { data: Float64Array; m: number; n: number }): Float64Array => {
  const { u, s, v } = ss.svd(host(a))
  const k = s.shape[0]
  const r = Array.from(s.data).filter((x) => x > 1e-9 * Math.max(s.data[0], 1e-300)).length
  const out = new Float64Array(a.m * a.n)
  for (let i = 0; i < a.m; i++)
    for (let j = 0; j < a.n; j++) for (let t = 0; t < r; t++) out[i * a.n + j] += u.data[i * k + t] * v.data[j * k + t]
  return out
}

test('subgradient G = U Vᵀ: ⟨G, W⟩ = ‖W‖*, ‖G‖₂ ≤ 1 + tol, ‖V‖* ≥ ‖W‖* + ⟨G, V − W⟩ (incl. rank-deficient)', () => {
  fc.assert(
    fc.property(arbSpectral({ deficient: true }), fc.integer({ min: 0, max: 1e6 }), ({ a, spectrum }, seedV) => {
      const w = host(a)
      const { value, grad } = ss.valueAndGrad<ss.HostTensor>((x) => ss.nuclearNorm(x))(w)
      const [nv, g] = ss.runSync([value, grad], { backend: ref })
      const norm = spectrum.reduce((s, x) => s + x, 0)
      assert.ok(Math.abs(nv.data[0] - norm) < 1e-9 * Math.max(1, norm), `value ${nv.data[0]} vs Σσ ${norm}`)
      assert.ok(Math.abs(dot(g.data, a.data) - norm) < 1e-9 * Math.max(1, norm), '⟨G, W⟩ = ‖W‖*')
      const gs = ss.svd(g).s.data
      assert.ok((gs[0] ?? 0) <= 1 + 1e-9, `‖G‖₂ = ${gs[0]}`)
      const v = ss.normalArray(ss.key(seedV), a.m * a.n)
      const nvv = Array.from(ss.svd(ss.fromData(v, [a.m, a.n])).s.data).reduce((s, x) => s + x, 0)
      const rhs = norm + dot(g.data, v) - dot(g.data, a.data)
      assert.ok(nvv >= rhs - 1e-9 * Math.max(1, Math.abs(rhs)), `‖V‖* ${nvv} < ${rhs}`)
    }),
    opts(40),
  )
})

test('thin path W (WᵀW)^{+½} equals the SVD path U_r V_rᵀ on D × T, T ≤ 8, incl. rank-deficient (ref and cpu)', () => {
  fc.assert(
    fc.property(arbSpectral({ maxM: 40, maxN: 8, deficient: true }), fc.boolean(), ({ a }, wide) => {
      // both orientations: D × T and T × D
      const w = wide ? transposeH(a) : a
      const want = svdPolar(w)
      const got = ss.runSync(ss.polar(host(w)), { backend: ref })
      assert.ok(maxAbsDiff(got.data, want) < 1e-8, `ref: ${maxAbsDiff(got.data, want)}`)
      const got32 = ss.runSync(ss.polar(ss.toFloat32(host(w))), { backend: cpu })
      assert.ok(maxAbsDiff(got32.data, want) < 2e-3, `cpu: ${maxAbsDiff(got32.data, want)}`)
    }),
    opts(40),
  )
})

test('nuclearNorm VJP passes the finite-difference check where σ are distinct and nonzero', () => {
  fc.assert(
    fc.property(arbSpectral({ maxM: 12, maxN: 12, lo: 0.3 }), ({ a }) => {
      const r = checkVjp((x) => ss.nuclearNorm(x), [host(a)])
      assert.ok(r.ok, r.message)
    }),
    opts(30),
  )
})

test('polar (exact route) is differentiable: its VJP passes the finite-difference check', () => {
  fc.assert(
    fc.property(arbSpectral({ maxM: 6, maxN: 5, lo: 0.3 }), ({ a }) => {
      const r = checkVjp((x) => ss.polar(x), [host(a)])
      assert.ok(r.ok, r.message)
    }),
    opts(20),
  )
})

test('nuclearNorm: bad arguments throw at trace time naming the op', () => {
  const w = ss.tensor64(new Array(20).fill(1), [4, 5])
  assert.throws(() => ss.nuclearNorm(ss.tensor64([1, 2, 3])), /nuclearNorm: expects a non-empty matrix, got \[3\]/)
  assert.throws(
    () => ss.nuclearNorm(w, { method: 'randomized', rank: 2, oversampling: 0 }),
    /nuclearNorm: randomized SVD needs an explicit PRNG key/,
  )
  assert.throws(
    () => ss.nuclearNorm(w, { method: 'randomized', rank: 0, key: ss.key(1) }),
    /nuclearNorm: randomized SVD needs a positive integer rank, got 0/,
  )
  assert.throws(() => ss.nuclearNorm(w, { method: 'svd' as never }), /nuclearNorm: unknown method 'svd'/)
  assert.throws(() => ss.qr(ss.tensor64(new Array(6).fill(1), [2, 3])), /qr: needs rows ≥ columns/)
})

test('randomized route is a pure function of its key: same key, same bits; another key, another sketch', () => {
  const a = host(
    withSpectrum(
      5,
      30,
      20,
      Array.from({ length: 20 }, (_, i) => 1 + 1 / (1 + i)),
    ),
  )
  const f = (k: number) =>
    ss.runSync(ss.nuclearNorm(a, { method: 'randomized', rank: 4, oversampling: 2, powerIters: 0, key: ss.key(k) }), { backend: cpu })
      .data[0]
  assert.equal(f(1), f(1))
  assert.notEqual(f(1), f(2))
})
