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
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let t = 0; t <= k; t++) g[i * k + j] += x.data[i * (k + 1) + t] * x.data[j * (k + 1) + t]
    return ops.fromData(g, [k, k])
  }),
)

const wellConditioned = (a: HostTensor): boolean => {
  const s = ops.svd(a).s.data
  return s[s.length - 1] > 0.1 * s[0]
}

export const linalgCases: PrimCase[] = [
  {
    prim: 'qr',
    nondiff: true,
    arb: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }))
      .chain(([n, extra]) => arbTensor([n + extra, n]).map((a) => ({ inputs: [a] }))),
    f: ([a]) => ops.qr(a),
    pre: ([a]) => wellConditioned(a),
  },
  ...[0.5, -0.5, 1.5].map(
    (power): PrimCase => ({
      prim: 'psdPow',
      label: `power ${power}`,
      arb: arbPsd.map((g) => ({ inputs: [g], attrs: { power } })),
      f: ([g], { power: p }) => ops.psdPow(g, p),
      pre: ([g]) => wellSeparated(g),
    }),
  ),
  {
    prim: 'psdPow',
    label: 'rank-truncated, power −0.5',
    arb: arbPsd.chain((g) => fc.integer({ min: 1, max: g.shape[0] }).map((rank) => ({ inputs: [g], attrs: { rank } }))),
    f: ([g], { rank }) => ops.psdPow(g, -0.5, { rank }),
    pre: ([g], { rank }) => wellSeparated(g, rank),
  },
  {
    prim: 'psdPowVjp',
    nondiff: true,
    arb: arbPsd.chain((g) => arbTensor(g.shape).map((d) => ({ inputs: [g, d] }))),
    f: ([g, d]) => ops.bind(ops.psdPowVjpPrim, [g, d], { power: -0.5 }),
    pre: ([g]) => wellSeparated(g),
  },
]
