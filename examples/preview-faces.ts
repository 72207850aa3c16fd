/**
 * Writes examples/faces-preview.png: a contact sheet of synthetic faces, one row per expression pair, domain A
 * on the left and domain B on the right, each with its 68 landmarks overlaid (red) next to the plain face.
 * Run: npx tsx examples/preview-faces.ts [out.png] [size]
 */
import { writeFileSync } from 'node:fs'
import { PNG } from 'pngjs'
import { expressionNames, generateFaces } from '../src/data/synthetic-faces.ts'
import { key, split } from '../src/tensor/prng.ts'

const out = process.argv[2] ?? 'examples/faces-preview.png'
const size = Number(process.argv[3] ?? 48)
const zoom = Math.max(1, Math.round(144 / size))
const cols = 6 // A plain, A + landmarks, A, B plain, B + landmarks, B ...
const rows = 4
const [kA, kB] = split(key(2018))
const a = generateFaces(kA, { n: 12, size, domain: 'A', standardize: 'none' })
const b = generateFaces(kB, { n: 12, size, domain: 'B', standardize: 'none' })
const cell = size * zoom + 4
const png = new PNG({ width: cols * 2 * cell, height: rows * cell })
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
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) put(cx + x + dx - 1, cy + y + dy - 1, 255, 0, 0)
  }
}
for (let i = 0; i < 12; i++) {
  const r = Math.floor(i / 3)
  const c = (i % 3) * 2
  draw(a, i, c * cell + 2, r * cell + 2, false)
  draw(a, i, (c + 1) * cell + 2, r * cell + 2, true)
  draw(b, i, (cols + c) * cell + 2, r * cell + 2, false)
  draw(b, i, (cols + c + 1) * cell + 2, r * cell + 2, true)
}
writeFileSync(out, PNG.sync.write(png))
const names = (s: typeof a) => Array.from(s.labels.data, (l) => expressionNames[l]).join(', ')
console.log(`wrote ${out} (${png.width}x${png.height}); A: ${names(a)}; B: ${names(b)}`)
