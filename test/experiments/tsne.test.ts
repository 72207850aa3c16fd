import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cpuBackend } from '../../src/backend/cpu/index.ts'
import { refBackend } from '../../src/backend/ref/index.ts'
import { pca2, tsne2, tsneAffinities } from '../../src/experiments/embed.ts'

/** Three tight Gaussian clusters in 8-D along a line (PCA alone keeps them apart too; t-SNE must not merge them). */
const clusters = (perCluster: number): { rows: number[][]; labels: number[] } => {
  let s = 7
  const rnd = () => {
    s = (s * 16807) % 2147483647
    return s / 2147483647 - 0.5
  }
  const rows: number[][] = []
  const labels: number[] = []
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < perCluster; i++) {
      rows.push(Array.from({ length: 8 }, (_, k) => (k === c ? 6 : 0) + rnd()))
      labels.push(c)
    }
  return { rows, labels }
}

/** KL(P‖Q) of an embedding, by the textbook float64 formula. */
const kl = (p: Float64Array, y: readonly (readonly number[])[]): number => {
  const n = y.length
  const w = new Float64Array(n * n)
  let z = 0
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j) {
        w[i * n + j] = 1 / (1 + (y[i][0] - y[j][0]) ** 2 + (y[i][1] - y[j][1]) ** 2)
        z += w[i * n + j]
      }
  let s = 0
  for (let k = 0; k < n * n; k++) if (p[k] > 0) s += p[k] * Math.log(p[k] / (w[k] / z))
  return s
}

const nearestAgreement = (y: readonly (readonly number[])[], labels: readonly number[]): number => {
  let agree = 0
  y.forEach((a, i) => {
    let best = -1
    let bd = Number.POSITIVE_INFINITY
    y.forEach((b, j) => {
      const d = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
      if (j !== i && d < bd) [best, bd] = [j, d]
    })
    agree += labels[best] === labels[i] ? 1 : 0
  })
  return agree / y.length
}

test('tsneAffinities: symmetric, zero diagonal, sums to 1; equidistant points get uniform affinities', () => {
  const { rows } = clusters(10)
  const n = rows.length
  const p = tsneAffinities(rows, 5)
  let total = 0
  for (let i = 0; i < n; i++) {
    assert.equal(p[i * n + i], 0)
    for (let j = 0; j < n; j++) {
      assert.ok(Math.abs(p[i * n + j] - p[j * n + i]) < 1e-15)
      total += p[i * n + j]
    }
  }
  assert.ok(Math.abs(total - 1) < 1e-12, `Σ P = ${total}`)
  // the 4 vertices of a regular simplex: every pair at the same distance, so P = 1/(n(n − 1)) off the diagonal
  const simplex = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((k) => (k === i ? 1 : 0)))
  const u = tsneAffinities(simplex, 2)
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (i !== j) assert.ok(Math.abs(u[i * 4 + j] - 1 / 12) < 1e-9, `P[${i},${j}] = ${u[i * 4 + j]}`)
})

test('tsne2 (autodiff KL gradient): lowers KL(P‖Q) far below the PCA start and keeps clusters apart, on cpu and ref', async () => {
  const { rows, labels } = clusters(20)
  const p = tsneAffinities(rows, Math.min(30, (rows.length - 1) / 3))
  const start = pca2(rows)
  const sd = Math.sqrt(start.reduce((s, [x]) => s + x * x, 0) / rows.length)
  const k0 = kl(
    p,
    start.map(([a, b]) => [(a / sd) * 1e-4, (b / sd) * 1e-4]),
  )
  for (const backend of [cpuBackend(), refBackend()]) {
    const y = await tsne2(rows, backend, { iterations: 300 })
    const k1 = kl(p, y)
    assert.ok(k1 < 0.5 * k0, `${backend.name}: KL ${k0.toFixed(3)} → ${k1.toFixed(3)}`)
    assert.equal(nearestAgreement(y, labels), 1, `${backend.name}: nearest neighbours across clusters`)
    assert.deepEqual(await tsne2(rows, backend, { iterations: 300 }), y, `${backend.name}: deterministic`)
  }
})

test('tsne2: bad input names the function and the values', async () => {
  await assert.rejects(tsne2([[1], [2], [3]], refBackend()), /tsne2: needs at least 4 rows, got 3/)
  await assert.rejects(
    tsne2(clusters(2).rows, refBackend(), { iterations: 0 }),
    /tsne2: expected perplexity > 0 and a positive integer iterations, got undefined and 0/,
  )
})
