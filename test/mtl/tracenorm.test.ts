/** Unfoldings (permutations of the data, with inverses) and the LAF / Tucker / TT trace norms. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ss from '../../src/index.ts'
import { arbShape, arbTensor, checkParity, checkVjp, fc } from '../../src/testing/index.ts'
import { fcParams } from '../harness.ts'

const ref = ss.refBackend()
const cpu = ss.cpuBackend()
// a fresh seed per run (FC_SEED / FC_PATH replay one), more runs under CI=true
const opts = fcParams
const r1 = (t: ss.TensorLike) => ss.runSync(ss.lift(t), { backend: ref })

/** Multi-index of a row-major flat offset. */
const unravel = (o: number, shape: readonly number[]): number[] => {
  const idx = new Array<number>(shape.length)
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = o % shape[d]
    o = Math.floor(o / shape[d])
  }
  return idx
}
const ravel = (idx: readonly number[], shape: readonly number[]): number => idx.reduce((acc, v, d) => acc * shape[d] + v, 0)

/** Direct mode-a unfolding by the paper's index map: entry (i_a, row-major index of the other axes). */
const directMode = (w: ss.HostTensor, a: number): Float64Array => {
  const rest = w.shape.filter((_, i) => i !== a)
  const cols = rest.reduce((x, y) => x * y, 1)
  const out = new Float64Array(w.data.length)
  for (let o = 0; o < w.data.length; o++) {
    const idx = unravel(o, w.shape)
    out[
      idx[a] * cols +
        ravel(
          idx.filter((_, i) => i !== a),
          rest,
        )
    ] = w.data[o]
  }
  return out
}

/** Σσ of a host matrix. */
const nuc = (data: ArrayLike<number>, m: number, n: number): number =>
  Array.from(ss.svd(ss.fromData(Float64Array.from(data), [m, n])).s.data).reduce((s, x) => s + x, 0)

/** Distinct values so that "is a permutation" is checked by sorting. */
const arbIota = arbShape({ minRank: 1, maxRank: 5, maxDim: 3 }).map((s) =>
  ss.fromData(
    Float64Array.from({ length: ss.sizeOf(s) }, (_, i) => i),
    s,
  ),
)

test("modeUnfold: the paper's index map, a permutation of the data, and modeFold inverts it", () => {
  fc.assert(
    fc.property(
      arbIota.chain((w) => fc.tuple(fc.constant(w), fc.integer({ min: 0, max: w.shape.length - 1 }))),
      ([w, a]) => {
        const m = r1(ss.modeUnfold(w, a))
        assert.deepEqual(m.shape, [w.shape[a], w.data.length / w.shape[a]])
        assert.deepEqual(Array.from(m.data), Array.from(directMode(w, a)))
        assert.deepEqual(
          [...m.data].sort((x, y) => x - y),
          Array.from(w.data),
        )
        const back = r1(ss.modeFold(ss.modeUnfold(w, a), a, w.shape))
        assert.deepEqual(back.shape, w.shape)
        assert.deepEqual(Array.from(back.data), Array.from(w.data))
      },
    ),
    opts(60),
  )
})

test('ttUnfold: reshape to [D1…Di, Di+1…DN], a permutation (identity order) of the data, ttFold inverts it', () => {
  fc.assert(
    fc.property(
      arbIota.filter((w) => w.shape.length >= 2).chain((w) => fc.tuple(fc.constant(w), fc.integer({ min: 1, max: w.shape.length - 1 }))),
      ([w, i]) => {
        const m = r1(ss.ttUnfold(w, i))
        assert.deepEqual(m.shape, [ss.sizeOf(w.shape.slice(0, i)), ss.sizeOf(w.shape.slice(i))])
        assert.deepEqual(Array.from(m.data), Array.from(w.data))
        assert.deepEqual(Array.from(r1(ss.ttFold(ss.ttUnfold(w, i), i, w.shape)).data), Array.from(w.data))
      },
    ),
    opts(40),
  )
})

test('unfoldings and norms reject bad axes and shapes naming the op', () => {
  const w = ss.tensor64(new Array(24).fill(1), [2, 3, 4])
  assert.throws(() => ss.modeUnfold(w, 3), /modeUnfold: axis 3 out of range for rank 3/)
  assert.throws(() => ss.ttUnfold(w, 0), /ttUnfold: split 0 must be in \[1, 2\]/)
  assert.throws(() => ss.modeFold(ss.modeUnfold(w, 0), 1, w.shape), /modeFold: matrix \[2,12\] is not the mode-1 unfolding of \[2,3,4\]/)
  assert.throws(() => ss.tucker(w, [1, 2]), /tucker: expected 3 finite weights/)
  assert.throws(() => ss.tt(w, [1, 2, 3]), /tt: expected 2 finite weights/)
  assert.throws(() => ss.stackTasks([w, ss.tensor64([1, 2])]), /stackTasks: task weights differ in shape: \[2,3,4\] vs \[2\]/)
  assert.throws(() => ss.laf(ss.tensor64([1, 2])), /laf: expects a stacked tensor of rank ≥ 2/)
})

test('stackTasks puts the task index on a new last axis', () => {
  fc.assert(
    fc.property(
      arbShape({ minRank: 1, maxRank: 4, maxDim: 3 }).chain((s) => fc.array(arbTensor(s), { minLength: 1, maxLength: 4 })),
      (ws) => {
        const t = r1(ss.stackTasks(ws))
        const T = ws.length
        assert.deepEqual(t.shape, [...ws[0].shape, T])
        for (let o = 0; o < t.data.length; o++) assert.equal(t.data[o], ws[o % T].data[Math.floor(o / T)])
      },
    ),
    opts(30),
  )
})

/** Small stacked weights [kh, kw, cin, cout, T]-like tensors of rank 2..5. */
const arbStacked = arbShape({ minRank: 1, maxRank: 4, maxDim: 3 }).chain((s) =>
  fc.integer({ min: 2, max: 3 }).chain((T) => arbTensor([...s, T])),
)

test('laf / tucker / tt values equal the direct formulas (Σ over unfoldings of Σσ)', () => {
  fc.assert(
    fc.property(arbStacked, fc.double({ min: 0.1, max: 2, noNaN: true }), (w, g) => {
      const s = w.shape
      const N = s.length
      const size = w.data.length
      const lafWant = g * nuc(directMode(w, N - 1), s[N - 1], size / s[N - 1])
      const gs = s.map((_, i) => g + 0.1 * i)
      const tuckerWant = s.reduce((acc, d, i) => acc + gs[i] * nuc(directMode(w, i), d, size / d), 0)
      const ttWant = s.slice(0, -1).reduce((acc, _, i) => {
        const rows = ss.sizeOf(s.slice(0, i + 1))
        return acc + gs[i] * nuc(w.data, rows, size / rows)
      }, 0)
      const [l, tk, t] = ss.runSync([ss.laf(w, g), ss.tucker(w, gs), ss.tt(w, gs.slice(0, -1))], { backend: ref }).map((x) => x.data[0])
      for (const [got, want, name] of [
        [l, lafWant, 'laf'],
        [tk, tuckerWant, 'tucker'],
        [t, ttWant, 'tt'],
      ] as const)
        assert.ok(Math.abs(got - want) <= 1e-8 * Math.max(1, want), `${name}: ${got} vs ${want}`)
    }),
    opts(40),
  )
})

/** Smallest relative gap between distinct singular values (and to zero) over every unfolding the norms use. */
const minGap = (w: ss.HostTensor): number => {
  const s = w.shape
  const mats: [ArrayLike<number>, number, number][] = [
    ...s.map((d, i) => [directMode(w, i), d, w.data.length / d] as [ArrayLike<number>, number, number]),
    ...s
      .slice(0, -1)
      .map(
        (_, i) =>
          [w.data, ss.sizeOf(s.slice(0, i + 1)), w.data.length / ss.sizeOf(s.slice(0, i + 1))] as [ArrayLike<number>, number, number],
      ),
  ]
  let gap = Infinity
  for (const [d, m, n] of mats) {
    const sv = Array.from(ss.svd(ss.fromData(Float64Array.from(d), [m, n])).s.data)
    for (let i = 0; i < sv.length; i++) gap = Math.min(gap, (i + 1 < sv.length ? sv[i] - sv[i + 1] : sv[i]) / sv[0])
  }
  return gap
}

for (const [name, f] of [
  ['laf', (x: ss.Tensor) => ss.laf(x, 0.7)],
  ['tucker', (x: ss.Tensor) => ss.tucker(x, 0.7)],
  ['tt', (x: ss.Tensor) => ss.tt(x, 0.7)],
] as const) {
  test(`${name}: VJP passes the finite-difference check (distinct nonzero σ) and cpu matches ref`, async () => {
    await fc.assert(
      fc.asyncProperty(
        arbStacked.filter((w) => minGap(w) > 0.02),
        async (w) => {
          const r = checkVjp(f, [w])
          assert.ok(r.ok, r.message)
          const p = await checkParity(f, [w], cpu)
          assert.ok(p.ok, p.message)
        },
      ),
      opts(20),
    )
  })
}

test('tucker / tt with the randomized method: rank ≥ every unfolding rank reproduces the exact value and gradient', () => {
  fc.assert(
    fc.property(
      arbStacked.filter((w) => w.data.length >= 8),
      fc.integer({ min: 0, max: 1e6 }),
      (w, seed) => {
        for (const norm of [ss.tucker, ss.tt]) {
          const exact = ss.valueAndGrad<ss.HostTensor>((x) => norm(x, 1))(w)
          const rnd = ss.valueAndGrad<ss.HostTensor>((x) =>
            norm(x, 1, { method: 'randomized', rank: 9, oversampling: 2, key: ss.key(seed), thinMax: 0 }),
          )(w)
          const [ev, eg, rv, rg] = ss.runSync([exact.value, exact.grad, rnd.value, rnd.grad], { backend: ref })
          assert.ok(Math.abs(ev.data[0] - rv.data[0]) < 1e-8 * Math.max(1, ev.data[0]))
          for (let i = 0; i < eg.data.length; i++) assert.ok(Math.abs(eg.data[i] - rg.data[i]) < 1e-7)
        }
      },
    ),
    opts(15),
  )
})

test('subgradient choice pinned: identical tasks (rank 1) give U₁V₁ᵀ per task, a zero stack gives 0, never NaN', () => {
  const w = ss.tensor64([1, -2, 2, 0, 4, -1], [1, 2, 3])
  const norm = Math.sqrt(26)
  for (const be of [ref, cpu]) {
    const { value, grad } = ss.valueAndGrad<ss.HostTensor[]>((ws) => ss.laf(ss.stackTasks(ws)))([w, w])
    const [v, [g1, g2]] = ss.runSync([value, grad], { backend: be })
    const tol = be === ref ? 1e-12 : 1e-5
    // W_(N) = [w; w]: σ₁ = √2‖w‖ and U₁V₁ᵀ = [w; w] / (√2‖w‖)
    assert.ok(Math.abs(v.data[0] - Math.SQRT2 * norm) < tol * 10)
    for (let i = 0; i < 6; i++) {
      assert.ok(Math.abs(g1.data[i] - w.data[i] / (Math.SQRT2 * norm)) < tol, `${be.name}: ${g1.data[i]}`)
      assert.equal(g1.data[i], g2.data[i])
    }
    const z = ss.valueAndGrad<ss.HostTensor>((x) => ss.tucker(x))(ss.tensor64(new Array(12).fill(0), [2, 3, 2]))
    const [zv, zg] = ss.runSync([z.value, z.grad], { backend: be })
    assert.equal(zv.data[0], 0)
    assert.ok(zg.data.every((x) => x === 0))
  }
})

test('laf over stackTasks reads the task weights in place: same value and gradients as over a stacked copy (T = 1..4)', () => {
  fc.assert(
    fc.property(
      fc
        .tuple(arbShape({ minRank: 1, maxRank: 3, maxDim: 3 }), fc.integer({ min: 1, max: 4 }), fc.boolean())
        .chain(([s, t, same]) => fc.tuple(fc.array(arbTensor(s), { minLength: t, maxLength: t }), fc.constant(same))),
      ([ws0, same]) => {
        // identical tasks (rank 1) included: the in-place path must drop the zero singular values as the stacked one does
        const ws = same ? ws0.map(() => ws0[0]) : ws0
        const viaStack = ss.valueAndGrad((xs: ss.Tensor[]) => ss.laf(ss.stackTasks(xs), 0.7))(ws)
        const viaCopy = ss.valueAndGrad((xs: ss.Tensor[]) => ss.laf(ss.add(ss.stackTasks(xs), 0), 0.7))(ws)
        const [a, b] = [viaStack, viaCopy].map((r) => ss.runSync(r, { backend: ref }))
        assert.ok(Math.abs(a.value.data[0] - b.value.data[0]) <= 1e-10 * Math.max(1, b.value.data[0]))
        a.grad.forEach((g, i) => {
          g.data.forEach((v, j) => {
            assert.ok(Number.isFinite(v) && Math.abs(v - b.grad[i].data[j]) <= 1e-9, `task ${i} entry ${j}: ${v} vs ${b.grad[i].data[j]}`)
          })
        })
      },
    ),
    opts(40),
  )
})
