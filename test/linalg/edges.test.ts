/** Numerics at the edges: γ validation, extreme scales, the precision floors, the 'auto' rank truncation, argument errors. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'

const ref = ss.refBackend()
const cpu = ss.cpuBackend()

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let n = 0
  let d = 0
  for (let i = 0; i < a.length; i++) {
    n += (a[i] - b[i]) ** 2
    d += b[i] ** 2
  }
  return Math.sqrt(n / d)
}

const scaled = (t: ss.HostTensor, s: number, f32 = false): ss.HostTensor => {
  const v = Float64Array.from(t.data, (x) => x * s)
  return ss.fromData(f32 ? Float32Array.from(v) : v, t.shape)
}

/** LAF value and gradients of two task weights, through stackTasks (the in-place path) or a plain stacked tensor. */
const lafOf = (be: ss.Backend<any>, ws: readonly ss.HostTensor[], stacked: boolean) => {
  const f = (xs: ss.Tensor[]) => ss.laf(stacked ? ss.stackTasks(xs) : ss.add(ss.stackTasks(xs), 0), 1)
  const { value, grad } = ss.valueAndGrad(f)([...ws])
  const out = ss.runSync({ value, grad }, { backend: be })
  return { value: out.value.data[0], grad: Float64Array.from([...out.grad[0].data, ...out.grad[1].data]) }
}

test('laf, tucker, tt: γ must be finite numbers ≥ 0 (NaN, arrays, strings, negatives name the op and the value)', () => {
  const w = ss.normal(ss.key(1), [2, 3, 2])
  assert.throws(() => ss.laf(w, Number.NaN), /laf: γ must be one finite number ≥ 0, got NaN/)
  assert.throws(() => ss.laf(w, [1, 2] as unknown as number), /laf: γ must be one finite number ≥ 0, got \[1,2\]/)
  assert.throws(() => ss.laf(w, '2' as unknown as number), /laf: γ must be one finite number ≥ 0, got the string '2'/)
  assert.throws(() => ss.laf(w, -1), /laf: γ must be one finite number ≥ 0, got -1/)
  assert.throws(() => ss.laf(w, Number.POSITIVE_INFINITY), /laf: γ/)
  assert.throws(() => ss.tucker(w, -1), /tucker: expected 3 finite weights γ ≥ 0 \(or one number\), got -1/)
  assert.throws(() => ss.tucker(w, [1, -2, 1]), /tucker: expected 3 finite weights γ ≥ 0.*\[1,-2,1\]/)
  assert.throws(() => ss.tt(w, -0.5), /tt: expected 2 finite weights γ ≥ 0 \(or one number\), got -0.5/)
  assert.throws(() => ss.tt(w, '1' as unknown as number), /tt: expected 2 finite weights γ ≥ 0 \(or one number\), got the string '1'/)
  // γ = 0 is allowed (no regularisation) and gives 0
  assert.equal(ss.runSync(ss.laf(w, 0), { backend: ref }).data[0], 0)
})

test('laf at extreme scales: value scales, gradient is unchanged (ref 1e-170·W and 1e160·W, cpu 1e-25·W and 1e20·W)', () => {
  const ws = [ss.normal(ss.key(3), [3, 3, 4, 4]), ss.normal(ss.key(4), [3, 3, 4, 4])]
  for (const stacked of [true, false]) {
    const base = lafOf(ref, ws.map(ss.toFloat64), stacked)
    for (const s of [1e-170, 1e160]) {
      const r = lafOf(
        ref,
        ws.map((w) => scaled(w, s)),
        stacked,
      )
      assert.ok(Math.abs(r.value / s - base.value) <= 1e-12 * base.value, `ref ×${s} (stacked ${stacked}): value ${r.value}`)
      assert.ok(relErr(r.grad, base.grad) < 1e-12, `ref ×${s} (stacked ${stacked}): gradient ${relErr(r.grad, base.grad)}`)
    }
    for (const s of [1e-25, 1e20]) {
      const r = lafOf(
        cpu,
        ws.map((w) => scaled(w, s, true)),
        stacked,
      )
      assert.ok(Math.abs(r.value / s - base.value) <= 1e-5 * base.value, `cpu ×${s} (stacked ${stacked}): value ${r.value}`)
      assert.ok(relErr(r.grad, base.grad) < 1e-5, `cpu ×${s} (stacked ${stacked}): gradient ${relErr(r.grad, base.grad)}`)
    }
  }
})

test('nuclearNorm at min side 36 (scaled float64 Gram of any size): no 0 or NaN at extreme scales', () => {
  const m = ss.normal(ss.key(11), [40, 36])
  const f = (x: ss.Tensor) => ss.nuclearNorm(x)
  const at = (be: ss.Backend<any>, x: ss.HostTensor) => {
    const { value, grad } = ss.valueAndGrad(f)(x)
    return ss.runSync({ value, grad }, { backend: be })
  }
  const base = at(ref, ss.toFloat64(m))
  for (const [be, s, f32, tol] of [
    [ref, 1e-170, false, 1e-12],
    [ref, 1e160, false, 1e-12],
    [cpu, 1e-25, true, 1e-4],
    [cpu, 1e20, true, 1e-4],
  ] as const) {
    const r = at(be, scaled(m, s, f32))
    assert.ok(Math.abs(r.value.data[0] / s - base.value.data[0]) <= tol * base.value.data[0], `${be.name} ×${s}: value ${r.value.data[0]}`)
    assert.ok(relErr(r.grad.data, base.grad.data) < tol, `${be.name} ×${s}: gradient error ${relErr(r.grad.data, base.grad.data)}`)
  }
})

/** Two nearly shared task weights [3, 3, 16, 16]: w₂ = w₁ + 2r·noise, so σ₂/σ₁ ≈ r. */
const nearlyShared = (r: number): ss.HostTensor[] => {
  const base = ss.normal(ss.key(1), [3, 3, 16, 16])
  const noise = ss.normal(ss.key(2), [3, 3, 16, 16]).data
  return [
    base,
    ss.fromData(
      Float32Array.from(base.data, (v, i) => v + 2 * r * noise[i]),
      base.shape,
    ),
  ]
}

test('cpu keeps the gradient term that pulls nearly shared tasks together, down to its measured floor σ₂/σ₁ = 1e-5', () => {
  // float32 Gram accumulation dropped σ₂ below 1e-3·σ₁ (0.71 relative gradient error at 5e-4); the float64 Gram
  // (hi + lo) keeps it, with an error ≈ 3e-8·σ₁/σ₂ from the float32 eigenvectors (backend/host/linalg-kernels.ts)
  for (const [r, tol] of [
    [5e-4, 1e-4],
    [1e-4, 2e-3],
    [2e-5, 1e-2],
  ] as const) {
    const ws = nearlyShared(r)
    for (const stacked of [true, false]) {
      const want = lafOf(ref, ws.map(ss.toFloat64), stacked)
      const got = lafOf(cpu, ws, stacked)
      const e = relErr(got.grad, want.grad)
      assert.ok(e < tol, `σ₂/σ₁ ≈ ${r} (stacked ${stacked}): cpu gradient error ${e.toExponential(2)} ≥ ${tol}`)
      assert.ok(Math.abs(got.value - want.value) < 1e-6 * want.value, `σ₂/σ₁ ≈ ${r}: value ${got.value} vs ${want.value}`)
    }
  }
  // below the floor σ₂ counts as 0 on cpu (rank-1 subgradient, ~0.71 off the ref one that still resolves it), never NaN
  const ws = nearlyShared(1e-6)
  const got = lafOf(cpu, ws, true)
  const want = lafOf(ref, ws.map(ss.toFloat64), true)
  assert.ok(got.grad.every(Number.isFinite))
  assert.ok(Math.abs(relErr(got.grad, want.grad) - Math.SQRT1_2) < 0.02)
})

test('ref resolves σ₂/σ₁ down to its floor 1e-6: U Vᵀ within 1e-4 of the host SVD at 1e-5, rank-1 below 1e-6', () => {
  const d = 512
  const base = ss.normal(ss.key(5), [d]).data
  const noise = ss.normal(ss.key(6), [d]).data
  const polarOf = (r: number) => {
    const m = Float64Array.from({ length: 2 * d }, (_, i) => base[i >> 1] + (i % 2 ? 2 * r * noise[i >> 1] : 0))
    const { u, s, v } = ss.svd(ss.fromData(m, [d, 2]))
    const uv = new Float64Array(2 * d)
    const kept = s.data[1] > 0 ? 2 : 1
    for (let i = 0; i < d; i++)
      for (let j = 0; j < 2; j++) for (let t = 0; t < kept; t++) uv[i * 2 + j] += u.data[i * 2 + t] * v.data[j * 2 + t]
    const g = ss.runSync(ss.grad((w: ss.Tensor) => ss.nuclearNorm(w))(ss.fromData(m, [d, 2])), { backend: ref })
    return relErr(g.data, uv)
  }
  assert.ok(polarOf(1e-4) < 1e-6)
  assert.ok(polarOf(1e-5) < 1e-4)
  assert.ok(Math.abs(polarOf(3e-7) - Math.SQRT1_2) < 0.02) // below the floor: the σ₂ term is dropped
})

test("nuclearNorm: rank under method 'auto' truncates with a one-time warning; an explicit 'randomized' does not warn", (t) => {
  const warn = t.mock.method(console, 'warn', () => {})
  const g = ss.normal(ss.key(7), [40, 40])
  const exact = ss.runSync(ss.nuclearNorm(g), { backend: ref }).data[0]
  const truncated = ss.runSync(ss.nuclearNorm(g, { rank: 3, key: ss.key(8) }), { backend: ref }).data[0]
  ss.nuclearNorm(g, { rank: 3, key: ss.key(9) })
  assert.ok(truncated < 0.5 * exact, `rank-3 truncation ${truncated} vs exact ${exact}`)
  assert.equal(warn.mock.callCount(), 1)
  assert.match(
    String(warn.mock.calls[0].arguments[0]),
    /nuclearNorm: opts.rank = 3 under method 'auto' truncates \[40,40\].*method: 'randomized'/,
  )
  ss.nuclearNorm(g, { rank: 5, method: 'randomized', key: ss.key(8) })
  assert.equal(warn.mock.callCount(), 1)
})

test('argument errors name the argument: maxPool size, matmul transA with a shared b, nuclearNorm rcond, PRNG keys', () => {
  const x = ss.zeros([1, 4, 4, 1])
  assert.throws(() => ss.maxPool(x, { size: 0 as unknown as number }), /maxPool: size must be a positive integer or a pair of them, got 0/)
  assert.throws(() => ss.avgPool(x, { size: 2, strides: 0 as unknown as number }), /avgPool: strides must be a positive integer/)
  // rank-3 × rank-2 with transA: b is shared across the batch (it used to report "batch dimensions differ")
  const a = ss.normal(ss.key(1), [2, 3, 4])
  const b = ss.normal(ss.key(2), [3, 5])
  const y = ss.runSync(ss.matmul(a, b, { transA: true }), { backend: ref })
  assert.deepEqual(y.shape, [2, 4, 5])
  const y1 = ss.runSync(ss.matmul(ss.reshape(ss.slice(a, [1, 0, 0], [1, 3, 4]), [3, 4]), b, { transA: true }), { backend: ref })
  assert.deepEqual(Array.from(y.data.slice(20)), Array.from(y1.data))
  assert.throws(() => ss.matmul(a, ss.zeros([4, 5]), { transA: true }), /matmul: inner dimensions differ: \[2,3,4\] \(transA\) × \[4,5\]/)
  const m = ss.zeros([4, 3])
  assert.throws(() => ss.nuclearNorm(m, { rcond: 2 }), /nuclearNorm: opts.rcond must be a number in \[0, 1\), got 2/)
  assert.throws(() => ss.polar(m, { rcond: -1 }), /polar: opts.rcond/)
  assert.throws(
    () => ss.normal(3 as unknown as ss.Key, [2]),
    /normal: key must be a PRNG key .*got the number 3 \(make a key with key\(3\)\)/,
  )
  assert.throws(() => ss.uniform(7 as unknown as ss.Key, [2]), /uniform: key must be a PRNG key/)
  assert.throws(() => ss.split(3 as unknown as ss.Key), /split: key must be a PRNG key/)
  assert.throws(() => ss.foldIn([1, 2, 3] as unknown as ss.Key, 0), /foldIn: key must be a PRNG key .*\[1,2,3\]/)
  assert.equal(ss.split(ss.key(1), 3).length, 3)
  const big = ss.zeros([40, 40])
  assert.throws(
    () => ss.nuclearNorm(big, { rank: 4, key: 5 as unknown as ss.Key }),
    /nuclearNorm: opts.key must be a PRNG key .*got the number 5 \(make a key with key\(5\)\)/,
  )
  assert.throws(() => ss.tucker(ss.zeros([2, 3, 2]), 1, { rank: 2, key: 5 as unknown as ss.Key }), /tucker: opts.key must be a PRNG key/)
})
