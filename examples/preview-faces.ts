/**
 * Writes examples/faces-preview.png: a contact sheet of 24 synthetic faces, 12 of domain A (expression task) on
 * the left and 12 of domain B (landmark task) on the right, with the 68 landmarks overlaid in red on the
 * bottom row of each half (the top row is left plain, to judge the drawing).
 * Run: npx tsx examples/preview-faces.ts [out.png] [size]
 */
import { writeFileSync } from 'node:fs'
import { PNG } from 'pngjs'
import { expressionNames, generateFaces } from '../src/data/synthetic-faces.ts'
import { key, split } from '../src/tensor/prng.ts'

const out = process.argv[2] ?? 'examples/faces-preview.png'
const size = Number(process.argv[3] ?? 48)
const zoom = Math.max(1, Math.round(144 / size))
const cols = 6 // per domain
const rows = 2
const [kA, kB] = split(key(2018))
const a = generateFaces(kA, { n: 12, size, domain: 'A', standardize: 'none' })
const b = generateFaces(kB, { n: 12, size, domain: 'B', standardize: 'none' })
const cell = size * zoom + 4
const png = new PNG({ width: cols * 2 * cell, height: rows * cell, colorType: 2 })
png.data.fill(255)
const put = (x: number, y: number, r: number, g: number, bl: number): void => {
  if (x < 0 || y < 0 || x >= png.width || y >= png.height) return
  const o = (y * png.width + x) * 4
  png.data[o] = r
  png.data[o + 1] = g
  png.data[o + 2] = bl
  png.data[o + 3] = 255
}
const draw = (set: typeof a, i: number, cx: number, cy: number, marks: boolean): void => {
  const px = set.images.data
  for (let y = 0; y < size * zoom; y++)
    for (let x = 0; x < size * zoom; x++) {
      const v = Math.round(255 * px[i * size * size + Math.floor(y / zoom) * size + Math.floor(x / zoom)])
      put(cx + x, cy + y, v, v, v)
    }
  if (!marks) return
  for (let j = 0; j < 68; j++) {
    const x = Math.round(set.landmarks.data[(i * 68 + j) * 2] * size * zoom)
    const y = Math.round(set.landmarks.data[(i * 68 + j) * 2 + 1] * size * zoom)
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ])
      put(cx + x + dx - 1, cy + y + dy - 1, 255, 0, 0)
  }
}
for (let i = 0; i < 12; i++) {
  const r = Math.floor(i / cols)
  const c = i % cols
  draw(a, i, c * cell + 2, r * cell + 2, r === 1)
  draw(b, i, (cols + c) * cell + 2, r * cell + 2, r === 1)
}
writeFileSync(out, PNG.sync.write(png))
const names = (s: typeof a) => Array.from(s.labels.data, (l) => expressionNames[l]).join(', ')
console.log(`wrote ${out} (${png.width}x${png.height}); A: ${names(a)}; B: ${names(b)}`)
