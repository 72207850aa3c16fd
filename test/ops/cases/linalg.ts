import type { HostTensor } from '../../../src/index.ts'
import * as ops from '../../../src/index.ts'
import { arbTensor, fc } from '../../../src/testing/index.ts'
import type { PrimCase } from '../../harness.ts'

/** Eigenvalues of a symmetric matrix (host Jacobi), descending. */
const eigs = (g: HostTensor): Float64Array => ops.eigh(g).values.data as Float64Array

/** Eigenvalues well separated from each other and from 0 (smooth region of G ↦ Gᵖ; float32-stable). */
const wellSeparated = (g: HostTensor, kept = g.shape[0]): boolean => {
  const l = eigs(g)
  const top = l[0]
  for (let i = 0; i < l.length - 1; i++) if (l[i] - l[i + 1] < 0.05 * top) return false
  return l[kept - 1] > 0.05 * top
}

/** A symmetric PSD k × k matrix X Xᵀ (k in 1..4). */
const arbPsd = fc.integer({ min: 1, max: 4 }).chain((k) =>
  arbTensor([k, k + 1], { min: -1.5, max: 1.5 }).map((x) => {
    const g = new Float64Array(k * k)
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) for (let t = 0; t <= k; t++) g[i * k + j] += x.data[i * (k + 1) + t] * x.data[j * (k + 1) + t]
    return ops.fromData(g, [k, k])
  }),
)

const wellConditioned = (a: HostTensor): boolean => {
  const s = ops.svd(a).s.data
  return s[s.length - 1] > 0.1 * s[0]
}

/** Each eigenvector's largest |entry| ahead of the runner-up by 1e-3 (≫ the 1e-6 finite-difference steps: the kernel's sign choice is then locally constant). */
const clearSigns = (g: HostTensor): boolean => {
  const k = g.shape[0]
  const v = ops.eigh(g).vectors.data
  for (let j = 0; j < k; j++) {
    const a = Array.from({ length: k }, (_, i) => Math.abs(v[i * k + j])).sort((x, y) => y - x)
    if (k > 1 && a[0] - a[1] < 1e-3) return false
  }
  return true
}

/**
 * A symmetric k × k matrix Q diag(λ) Qᵀ, k in 2..6, built directly (no filtering on size or spectrum): Q from the
 * QR of a random matrix, λ with gaps of at least 0.3, and of either sign with |λ| ≥ 0.15.
 */
const arbSym = fc.integer({ min: 2, max: 6 }).chain((k) =>
  fc
    .tuple(
      arbTensor([k, k]),
      fc.array(fc.double({ min: 0.3, max: 1, noNaN: true }), { minLength: k, maxLength: k }),
      fc.integer({ min: 0, max: k }),
    )
    .map(([x, gaps, negatives]) => {
      const q = ops.qrDecompose(x).q.data
      // `negatives` eigenvalues below 0, the rest above: every |λ| ≥ 0.15 and neighbours ≥ 0.3 apart
      const up = gaps.slice(0, k - negatives).map((_, i) => 0.15 + gaps.slice(0, i).reduce((a, d) => a + d, 0))
      const down = gaps.slice(k - negatives).map((_, i) => -0.15 - gaps.slice(k - negatives, k - negatives + i).reduce((a, d) => a + d, 0))
      const lam = [...up, ...down]
      const g = new Float64Array(k * k)
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) for (let t = 0; t < k; t++) g[i * k + j] += q[i * k + t] * lam[t] * q[j * k + t]
      return ops.fromData(g, [k, k])
    }),
)

export const linalgCases: PrimCase[] = [
  {
    prim: 'qr',
    arb: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }))
      .chain(([n, extra]) => arbTensor([n + extra, n]).map((a) => ({ inputs: [a] }))),
    f: ([a]) => ops.qr(a),
    pre: ([a]) => wellConditioned(a),
  },
  {
    prim: 'eigh',
    arb: arbSym.map((g) => ({ inputs: [g] })),
    f: ([g]) => ops.bind(ops.eighPrim, [g]),
    pre: ([g]) => clearSigns(g),
  },
  {
    prim: 'eigh',
    label: 'double-float input hi + lo',
    arb: fc.tuple(arbSym, fc.double({ min: -1e-3, max: 1e-3, noNaN: true })).map(([g, e]) => ({
      inputs: [
        g,
        ops.fromData(
          Float64Array.from(g.data, (_v, i) => e * Math.cos(i) * (i % (g.shape[0] + 1) === 0 ? 1 : 0)),
          g.shape,
        ),
      ],
    })),
    f: ([g, lo]) => ops.bind(ops.eighPrim, [g, lo]),
    pre: ([g, lo]) => {
      const a = ops.fromData(
        Float64Array.from(g.data, (v, i) => v + lo.data[i]),
        g.shape,
      )
      return clearSigns(a)
    },
  },
  {
    prim: 'gram',
    arb: fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2 }))
      .chain(([n, d, c]) => fc.array(arbTensor([d, c]), { minLength: n, maxLength: n }).map((inputs) => ({ inputs }))),
    f: (xs) => ops.gram(xs),
    // the scale s = 2^round(log2 max column norm) is piecewise constant: keep finite differences off its steps
    pre: (xs) => {
      const top = Math.max(...xs.map((x) => Math.max(...Array.from({ length: x.shape[1] }, (_, j) => colNorm2(x, j)))))
      const e = Math.log2(Math.sqrt(top))
      return top > 1e-6 && Math.abs(e - Math.round(e) - 0.5) > 0.02 && Math.abs(e - Math.round(e) + 0.5) > 0.02
    },
  },
]

/** Squared norm of column j of a matrix. */
const colNorm2 = (x: HostTensor, j: number): number => {
  const [d, c] = x.shape
  let s = 0
  for (let i = 0; i < d; i++) s += x.data[i * c + j] ** 2
  return s
}

/** psdPow is a composite of eigh (custom Löwner VJP): same VJP and parity properties, run by test/ops/linalg.test.ts. */
export const psdPowCases: PrimCase[] = [
  ...[0.5, -0.5, 1.5, -1].map(
    (power): PrimCase => ({
      prim: 'psdPow',
      label: `composite, power ${power}`,
      arb: arbPsd.map((g) => ({ inputs: [g], attrs: { power } })),
      f: ([g], { power: p }) => ops.psdPow(g, p),
      pre: ([g]) => wellSeparated(g),
    }),
  ),
  {
    prim: 'psdPow',
    label: 'composite, rank-truncated, power −0.5',
    arb: arbPsd.chain((g) => fc.integer({ min: 1, max: g.shape[0] }).map((rank) => ({ inputs: [g], attrs: { rank } }))),
    f: ([g], { rank }) => ops.psdPow(g, -0.5, { rank }),
    pre: ([g], { rank }) => wellSeparated(g, rank),
  },
]
