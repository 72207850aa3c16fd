import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  expressionNames,
  expressionTask,
  type Faces,
  generateFaces,
  interOcularDistance,
  landmarkTask,
  NUM_EXPRESSIONS,
  nme,
} from '../../src/data/index.ts'
import { fromData } from '../../src/tensor/host.ts'
import { key, split } from '../../src/tensor/prng.ts'

const S = 48
const pixel = (f: Faces, i: number, x: number, y: number): number => {
  const s = f.images.shape[1]
  const r = Math.max(0, Math.min(s - 1, Math.floor(y * s)))
  const c = Math.max(0, Math.min(s - 1, Math.floor(x * s)))
  return f.images.data[(i * s + r) * s + c]
}
const point = (f: Faces, i: number, j: number): [number, number] => [
  f.landmarks.data[(i * 68 + j) * 2],
  f.landmarks.data[(i * 68 + j) * 2 + 1],
]
const mid = (a: [number, number], b: [number, number]): [number, number] => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]

test('generateFaces: shapes, ranges, and every face a pure function of (key, domain, index)', () => {
  const k = key(7)
  const a = generateFaces(k, { n: 12 })
  assert.deepEqual(a.images.shape, [12, S, S, 1])
  assert.deepEqual(a.landmarks.shape, [12, 68, 2])
  assert.deepEqual(a.labels.shape, [12])
  const again = generateFaces(k, { n: 12 })
  assert.deepEqual(Buffer.from(again.images.data.buffer), Buffer.from(a.images.data.buffer))
  assert.deepEqual(Array.from(again.landmarks.data), Array.from(a.landmarks.data))
  assert.deepEqual(Array.from(again.labels.data), Array.from(a.labels.data))
  // a prefix of a bigger set is the smaller set
  const prefix = generateFaces(k, { n: 5 })
  assert.deepEqual(Array.from(prefix.images.data), Array.from(a.images.data.subarray(0, 5 * S * S)))
  const other = generateFaces(key(8), { n: 12 })
  assert.notDeepEqual(Array.from(other.images.data), Array.from(a.images.data))
  assert.notDeepEqual(Array.from(other.landmarks.data), Array.from(a.landmarks.data))
  const b = generateFaces(k, { n: 12, domain: 'B' })
  assert.notDeepEqual(Array.from(b.landmarks.data), Array.from(a.landmarks.data))
  for (const size of [32, 96]) {
    const f = generateFaces(k, { n: 2, size, standardize: 'none' })
    assert.deepEqual(f.images.shape, [2, size, size, 1])
    assert.ok(f.images.data.every((v) => v >= 0 && v <= 1))
  }
})

test('generateFaces: rejects bad options, naming the argument and value', () => {
  const k = key(0)
  assert.throws(() => generateFaces(k, { n: -1 }), /generateFaces: n must be a non-negative integer, got -1/)
  assert.throws(() => generateFaces(k, { n: 2, size: 8 }), /size must be an integer in \[16, 1024\], got 8/)
  assert.throws(() => generateFaces(k, { n: 2, domain: 'D' as 'A' }), /domain must be 'A', 'B' or 'C', got "D"/)
  assert.throws(() => generateFaces(k, { n: 2, domainShift: 5 }), /domainShift must be a number in \[0, 3\], got 5/)
  assert.throws(() => generateFaces(k, { n: 2, occlusion: -1 }), /occlusion must be a probability in \[0, 1\], got -1/)
  assert.throws(() => generateFaces(k, { n: 2, intensity: Number.NaN }), /intensity must be a finite number/)
})

test('generateFaces: landmarks lie inside the image and on the drawn features', () => {
  for (const domain of ['A', 'B'] as const) {
    const f = generateFaces(key(3), { n: 100, domain, standardize: 'none' })
    assert.ok(
      f.landmarks.data.every((v) => v > 0.02 && v < 0.98),
      `${domain}: a landmark leaves the image`,
    )
    const darker = { lips: 0, brows: 0, lids: 0, nose: 0, outline: 0 }
    for (let i = 0; i < 100; i++) {
      const p = (j: number) => point(f, i, j)
      const at = ([x, y]: [number, number]) => pixel(f, i, x, y)
      const cheek = (at(mid(p(2), p(31))) + at(mid(p(14), p(35)))) / 2
      const mean = (pts: [number, number][]) => pts.reduce((s, q) => s + at(q), 0) / pts.length
      // inside the lips: halfway between the outer and the inner lip contours
      const lips = mean([mid(p(50), p(61)), mid(p(51), p(62)), mid(p(52), p(63)), mid(p(56), p(65)), mid(p(57), p(66))])
      if (lips < cheek - 0.03) darker.lips++
      if (mean([18, 19, 20, 23, 24, 25].map(p)) < cheek - 0.08) darker.brows++
      if (mean([37, 38, 43, 44].map(p)) < cheek - 0.08) darker.lids++
      if (mean([31, 32, 33, 34, 35].map(p)) < cheek - 0.03) darker.nose++
      // the jaw points sit on the skin edge: pixels just inside and just outside differ
      const c = p(30)
      let edge = 0
      for (const j of [2, 4, 6, 8, 10, 12, 14]) {
        const [x, y] = p(j)
        const dx = x - c[0]
        const dy = y - c[1]
        const r = Math.hypot(dx, dy)
        const step = 2.5 / S / r
        edge += Math.abs(at([x + dx * step, y + dy * step]) - at([x - dx * step, y - dy * step])) / 7
      }
      if (edge > 0.05) darker.outline++
    }
    for (const [part, count] of Object.entries(darker))
      assert.ok(count >= 90, `${domain}: ${part} found on the drawn feature in only ${count}/100 faces`)
  }
})

/** Similarity-normalised landmark geometry: centred, unit RMS, outer eye corners horizontal. */
const geometry = (f: Faces, i: number): number[] => {
  const p = Array.from(f.landmarks.data.subarray(i * 136, i * 136 + 136))
  let mx = 0
  let my = 0
  for (let j = 0; j < 68; j++) {
    mx += p[2 * j] / 68
    my += p[2 * j + 1] / 68
  }
  const a = -Math.atan2(p[91] - p[73], p[90] - p[72])
  const out: number[] = []
  let rms = 0
  for (let j = 0; j < 68; j++) {
    const x = p[2 * j] - mx
    const y = p[2 * j + 1] - my
    out.push(Math.cos(a) * x - Math.sin(a) * y, Math.sin(a) * x + Math.cos(a) * y)
    rms += x * x + y * y
  }
  return out.map((v) => v / Math.sqrt(rms / 68))
}

/** Test accuracy of a nearest-class-mean classifier on a feature. */
const nearestMean = (train: Faces, testSet: Faces, feat: (f: Faces, i: number) => number[]): number => {
  const means: number[][] = []
  const counts = new Array(NUM_EXPRESSIONS).fill(0)
  for (let i = 0; i < train.labels.shape[0]; i++) {
    const c = train.labels.data[i]
    const v = feat(train, i)
    means[c] ??= new Array(v.length).fill(0)
    v.forEach((x, j) => {
      means[c][j] += x
    })
    counts[c]++
  }
  for (const [c, m] of means.entries()) for (let j = 0; j < m.length; j++) m[j] /= counts[c]
  let correct = 0
  const n = testSet.labels.shape[0]
  for (let i = 0; i < n; i++) {
    const v = feat(testSet, i)
    let best = -1
    let bestD = Infinity
    means.forEach((m, c) => {
      const d = m.reduce((s, x, j) => s + (x - v[j]) ** 2, 0)
      if (d < bestD) [best, bestD] = [c, d]
    })
    if (best === testSet.labels.data[i]) correct++
  }
  return correct / n
}
const meanIntensity = (f: Faces, i: number): number[] => {
  const px = f.images.shape[1] * f.images.shape[2]
  let m = 0
  for (let p = 0; p < px; p++) m += f.images.data[i * px + p]
  return [m / px]
}

test('generateFaces: all 13 classes occur; subtle but learnable from geometry, not from brightness', (t) => {
  const [k1, k2] = split(key(11))
  // landmark geometry does not depend on the image side, so small images keep this test fast
  const train = generateFaces(k1, { n: 1300, size: 24 })
  const testSet = generateFaces(k2, { n: 650, size: 24 })
  const counts = new Array(NUM_EXPRESSIONS).fill(0)
  for (const c of train.labels.data) counts[c]++
  assert.equal(expressionNames.length, 13)
  assert.ok(Math.min(...counts) >= 60, `class counts ${counts}`)
  const geo = nearestMean(train, testSet, geometry)
  const bright = nearestMean(train, testSet, meanIntensity)
  // chance is 1/13 = 0.077; measured about 0.67 (geometry) and 0.08 (brightness)
  assert.ok(geo > 0.3, `nearest-class-mean accuracy on landmark geometry ${geo}`)
  assert.ok(geo < 0.9, `classes are trivially separable from landmark geometry (${geo})`)
  assert.ok(bright < 0.15, `classes are separable by mean brightness (${bright})`)
  t.diagnostic(`nearest class mean accuracy: geometry ${geo.toFixed(3)}, brightness ${bright.toFixed(3)}`)
  // without the expression shifts the labels carry no signal
  const flat = nearestMean(
    generateFaces(k1, { n: 650, size: 16, intensity: 0 }),
    generateFaces(k2, { n: 650, size: 16, intensity: 0 }),
    geometry,
  )
  assert.ok(flat < 0.15, `intensity 0 still separable (${flat})`)
})

test('generateFaces: the two domains differ in brightness and contrast', () => {
  const stats = (f: Faces): [number, number] => {
    let m = 0
    let sd = 0
    const n = f.labels.shape[0]
    for (let i = 0; i < n; i++) {
      const px = Array.from(f.images.data.subarray(i * S * S, (i + 1) * S * S))
      const mi = px.reduce((s, v) => s + v, 0) / px.length
      m += mi / n
      sd += Math.sqrt(px.reduce((s, v) => s + (v - mi) ** 2, 0) / px.length) / n
    }
    return [m, sd]
  }
  const [mA, sA] = stats(generateFaces(key(5), { n: 100, domain: 'A', standardize: 'none' }))
  const [mB, sB] = stats(generateFaces(key(5), { n: 100, domain: 'B', standardize: 'none' }))
  assert.ok(mA - mB > 0.3, `mean A ${mA}, mean B ${mB}`)
  assert.ok(sB > sA * 1.2, `contrast A ${sA}, B ${sB}`)
  // fixed standardisation keeps the shift: (v - 0.5) / 0.25
  const std = generateFaces(key(5), { n: 3, domain: 'B' })
  const raw = generateFaces(key(5), { n: 3, domain: 'B', standardize: 'none' })
  for (const [p, v] of std.images.data.entries()) assert.ok(Math.abs(v - (raw.images.data[p] - 0.5) / 0.25) < 1e-5)
})

test('interOcularDistance and nme: exact values, scale invariance, shape errors', () => {
  const f = generateFaces(key(9), { n: 4 })
  const iod = interOcularDistance(f.landmarks).data
  for (let i = 0; i < 4; i++) {
    const [x0, y0] = point(f, i, 36)
    const [x1, y1] = point(f, i, 45)
    assert.ok(Math.abs(iod[i] - Math.hypot(x1 - x0, y1 - y0)) < 1e-12)
    assert.ok(iod[i] > 0.15 && iod[i] < 0.5, `iod ${iod[i]}`)
  }
  assert.equal(nme(f.landmarks, f.landmarks).mean, 0)
  // moving every point by 10% of its face's inter-ocular distance gives NME 0.1 on that face
  const moved = Float32Array.from(f.landmarks.data)
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 68; j++) {
      const dir = (j * 0.7) % (2 * Math.PI)
      moved[(i * 68 + j) * 2] += 0.1 * iod[i] * Math.cos(dir)
      moved[(i * 68 + j) * 2 + 1] += 0.1 * iod[i] * Math.sin(dir)
    }
  const r = nme(fromData(moved, [4, 68, 2]), f.landmarks)
  for (const v of r.perImage.data) assert.ok(Math.abs(v - 0.1) < 1e-5, `nme ${v}`)
  assert.ok(Math.abs(r.mean - 0.1) < 1e-5)
  assert.throws(() => nme(fromData(new Float32Array(136), [1, 136]), f.landmarks), /nme: pred must have shape \[N,68,2\], got \[1,136\]/)
  assert.throws(() => nme(f.landmarks, fromData(new Float32Array(136), [1, 68, 2])), /differ in N/)
  const t = landmarkTask(f)
  assert.deepEqual(t.y.shape, [4, 136])
  assert.equal(expressionTask(f).y, f.labels)
})
