import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'node:test'
import { type Either, isLeft, isRight } from 'fp-ts/lib/Either.js'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import {
  cropResize,
  decodeImage,
  ExpressionLabel,
  encodePng,
  expressionNames,
  formatPts,
  generateFaces,
  load300W,
  loadLabelledImages,
  loadMnist,
  parseIdx,
  parseLabelList,
  parsePts,
  readIdx,
  readPts,
} from '../../src/node/index.ts'
import { key } from '../../src/tensor/prng.ts'

const fixture = (name: string): string => join(import.meta.dirname, '..', 'fixtures', name)
const ok = <T>(e: Either<string, T>): T => {
  if (isLeft(e)) assert.fail(`expected Right, got Left: ${e.left}`)
  return e.right
}
const err = <T>(e: Either<string, T>): string => {
  if (isRight(e)) assert.fail('expected Left, got Right')
  return e.left
}

test('parsePts: reads the 68-point 300-W format and round-trips through formatPts', () => {
  const text = readFileSync(fixture('face.pts'), 'utf8')
  const pts = ok(parsePts(text, 'face.pts'))
  assert.equal(pts.length, 136)
  assert.deepEqual(Array.from(pts.subarray(0, 2)), [27.321, 47.625])
  assert.deepEqual(Array.from(ok(parsePts(formatPts(pts), 'x'))), Array.from(pts))
  // comments, blank lines and CRLF are tolerated
  assert.equal(ok(parsePts(`// from a tool\r\n${text.replaceAll('\n', '\r\n')}\r\n\r\n`, 'crlf.pts')).length, 136)
  assert.equal(ok(readPts(fixture('face.pts'))).length, 136)
})

test('parsePts: malformed files are rejected with file, line and what was wrong', () => {
  const read = (name: string) => readPts(fixture(name))
  assert.match(err(read('bad-version.pts')), /bad-version\.pts:1: invalid version "2": expected 1/)
  assert.match(err(read('bad-count.pts')), /bad-count\.pts:2: n_points is 5, expected 68/)
  assert.match(err(read('bad-point.pts')), /bad-point\.pts:44: point 40: expected two numbers 'x y', got "51\.25 abc"/)
  assert.match(err(read('truncated.pts')), /truncated\.pts:64: expected 68 points, found 60/)
  assert.match(err(read('missing.pts')), /missing\.pts: cannot read the file: no such file/)
  assert.match(err(parsePts('version: 1\nn_points: 2.5\n{\n}\n', 'f.pts', null)), /f\.pts:2: invalid n_points "2\.5"/)
  assert.match(err(parsePts('n_points: 68\n', 'f.pts')), /f\.pts:1: expected 'version: <number>', got "n_points: 68"/)
  assert.match(err(parsePts('version: 1\nn_points: 1\n{\n1 2\n}\nextra\n', 'f.pts', 1)), /f\.pts:6: unexpected text after '}'/)
  assert.match(
    err(parsePts('version: 1\nn_points: 1\n{\n1 2\n', 'f.pts', 1)),
    /f\.pts:5: expected '}' after 1 points, got "\(end of file\)"/,
  )
})

test('parseLabelList and ExpressionLabel: names (any case) or indices; bad labels name file and line', () => {
  const list = ok(parseLabelList(readFileSync(fixture('labels.csv'), 'utf8'), 'labels.csv'))
  assert.deepEqual(list, [
    { path: 'img/0001.png', label: 0 },
    { path: 'img/0002.jpg', label: expressionNames.indexOf('thinking') },
    { path: 'img/with,comma.png', label: 12 },
    { path: 'img/0004.png', label: 7 },
  ])
  assert.match(
    err(parseLabelList(readFileSync(fixture('bad-labels.csv'), 'utf8'), 'bad-labels.csv')),
    /bad-labels\.csv:3: invalid label "bored": expected one of happy, anxious, .*questioning or an index 0\.\.12/,
  )
  assert.match(err(parseLabelList('a.png,13\n', 'l.csv')), /l\.csv:1: invalid label "13"/)
  assert.match(err(parseLabelList('a.png\n', 'l.csv')), /l\.csv:1: expected 'path,label', got "a\.png"/)
  assert.match(err(parseLabelList('path,label\n', 'l.csv')), /l\.csv: no 'path,label' entries/)
  assert.equal(ExpressionLabel.encode(2), 'sad')
  assert.ok(ExpressionLabel.is(12) && !ExpressionLabel.is(13))
})

const gradient = (w: number, h: number) => ({
  width: w,
  height: h,
  data: Float32Array.from({ length: w * h }, (_, p) => ((p % w) + Math.floor(p / w)) / (w + h)),
})

test('decodeImage: PNG and JPEG to grayscale (BT.601 luma); garbage is refused by name', () => {
  const img = gradient(7, 5)
  const back = ok(decodeImage(encodePng(img), 'g.png'))
  assert.equal(back.width, 7)
  assert.equal(back.height, 5)
  for (const [p, v] of back.data.entries()) assert.ok(Math.abs(v - img.data[p]) <= 0.5 / 255 + 1e-6)
  const red = new PNG({ width: 1, height: 1 })
  red.data.set([255, 0, 0, 255])
  assert.ok(Math.abs(ok(decodeImage(PNG.sync.write(red), 'r.png')).data[0] - 0.299) < 1e-6)
  const rgba = Buffer.alloc(16 * 16 * 4, 200)
  const jpg = jpeg.encode({ data: rgba, width: 16, height: 16 }, 95).data
  const j = ok(decodeImage(jpg, 'c.jpg'))
  assert.equal(j.width, 16)
  assert.ok(j.data.every((v) => Math.abs(v - 200 / 255) < 0.02))
  assert.match(err(decodeImage(Uint8Array.of(1, 2, 3, 4), 'x.bin')), /x\.bin: not a PNG or JPEG file \(starts with bytes 01 02 03 04\)/)
  assert.match(
    err(decodeImage(encodePng(img).subarray(0, 40), 'cut.png')),
    /cut\.png: cannot decode the PNG data \(40 bytes\): the file is corrupt or truncated$/,
  )
})

test('cropResize: identity crop, area averaging when shrinking, border repetition outside', () => {
  const img = gradient(12, 12)
  const same = cropResize(img, { x: 0, y: 0, w: 12, h: 12 }, 12)
  for (const [p, v] of same.entries()) assert.ok(Math.abs(v - img.data[p]) < 1e-6)
  const half = cropResize(img, { x: 0, y: 0, w: 12, h: 12 }, 6)
  // each output pixel is the mean of a 2×2 block
  const block = (img.data[0] + img.data[1] + img.data[12] + img.data[13]) / 4
  assert.ok(Math.abs(half[0] - block) < 1e-6)
  const outside = cropResize(img, { x: -10, y: -10, w: 4, h: 4 }, 2)
  for (const v of outside) assert.equal(v, img.data[0])
  assert.throws(() => cropResize(img, { x: 0, y: 0, w: 0, h: 3 }, 4), /cropResize: box must have positive size/)
})

test('load300W and loadLabelledImages: real-format round trip through files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-data-'))
  // two synthetic 96-pixel faces written the 300-W way: an image and 1-based pixel points
  const f = generateFaces(key(21), { n: 2, size: 96, domain: 'B', standardize: 'none' })
  const files: string[] = []
  for (let i = 0; i < 2; i++) {
    const img = { width: 96, height: 96, data: Float32Array.from(f.images.data.subarray(i * 96 * 96, (i + 1) * 96 * 96)) }
    const bytes = encodePng(img)
    if (i === 0) writeFileSync(join(dir, `face${i}.png`), bytes)
    else {
      const rgba = PNG.sync.read(Buffer.from(bytes)).data
      writeFileSync(join(dir, `face${i}.jpg`), jpeg.encode({ data: rgba, width: 96, height: 96 }, 95).data)
    }
    const pts = Array.from(f.landmarks.data.subarray(i * 136, (i + 1) * 136), (v) => v * 96 + 0.5)
    writeFileSync(join(dir, `face${i}.pts`), formatPts(pts))
    files.push(join(dir, `face${i}.pts`))
  }
  const w = ok(load300W(files, { size: 48, standardize: 'none', margin: 0.8 }))
  assert.deepEqual(w.images.shape, [2, 48, 48, 1])
  assert.deepEqual(w.landmarks.shape, [2, 68, 2])
  assert.ok(w.landmarks.data.every((v) => v > 0 && v < 1))
  for (let i = 0; i < 2; i++) {
    // the crop keeps the landmarks on their features: lips darker than the cheeks in the loaded image
    const at = (j: number) => {
      const x = w.landmarks.data[(i * 68 + j) * 2] * 48
      const y = w.landmarks.data[(i * 68 + j) * 2 + 1] * 48
      return w.images.data[(i * 48 + Math.floor(y)) * 48 + Math.floor(x)]
    }
    const mid = (a: number, b: number) => {
      const L = w.landmarks.data
      const x = ((L[(i * 68 + a) * 2] + L[(i * 68 + b) * 2]) / 2) * 48
      const y = ((L[(i * 68 + a) * 2 + 1] + L[(i * 68 + b) * 2 + 1]) / 2) * 48
      return w.images.data[(i * 48 + Math.floor(y)) * 48 + Math.floor(x)]
    }
    assert.ok((mid(51, 62) + mid(57, 66)) / 2 < (mid(2, 31) + mid(14, 35)) / 2 - 0.05, `face ${i}: lips not darker`)
    assert.ok(at(37) < mid(2, 31) - 0.05, `face ${i}: eyelid not darker`)
  }
  writeFileSync(join(dir, 'lonely.pts'), readFileSync(fixture('face.pts')))
  assert.match(err(load300W([join(dir, 'lonely.pts')])), /lonely\.pts: no image lonely\.png\/\.jpg\/\.jpeg next to it/)
  // an LSEMSW-style list: non-square images of known gray levels, labels by name and index
  mkdirSync(join(dir, 'img'))
  const gray = (v: number, wd: number, ht: number) => ({ width: wd, height: ht, data: new Float32Array(wd * ht).fill(v) })
  writeFileSync(join(dir, 'img', 'a.png'), encodePng(gray(0.2, 30, 20)))
  writeFileSync(join(dir, 'img', 'b.png'), encodePng(gray(0.8, 64, 64)))
  writeFileSync(join(dir, 'list.csv'), 'path,label\nimg/a.png,Sad\nimg/b.png,9\n')
  const l = ok(loadLabelledImages(join(dir, 'list.csv'), { size: 16 }))
  assert.deepEqual(l.images.shape, [2, 16, 16, 1])
  assert.deepEqual(Array.from(l.labels.data), [2, 9])
  const v0 = (Math.round(0.2 * 255) / 255 - 0.5) / 0.25
  assert.ok(l.images.data.subarray(0, 256).every((v) => Math.abs(v - v0) < 1e-5))
  writeFileSync(join(dir, 'broken.csv'), 'img/a.png,happy\nimg/none.png,sad\n')
  assert.match(err(loadLabelledImages(join(dir, 'broken.csv'))), /broken\.csv: entry 2: .*none\.png: cannot read the file: no such file/)
})

test('loader options and degenerate files come back as errors naming the loader, file and problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-data-'))
  const pts = join(dir, 'f.pts')
  writeFileSync(pts, readFileSync(fixture('face.pts')))
  writeFileSync(join(dir, 'f.png'), encodePng({ width: 8, height: 8, data: new Float32Array(64) }))
  assert.equal(err(load300W([pts], { size: -4 })), 'load300W: size must be a whole number of pixels from 1 to 4096, got -4')
  assert.match(err(load300W([pts], { size: 0 })), /size must be .* got 0/)
  assert.match(err(load300W([pts], { margin: Number.NaN })), /load300W: margin must be a number ≥ 0, got NaN/)
  assert.match(err(loadLabelledImages('x.csv', { size: 2.5 })), /loadLabelledImages: size .* got 2\.5/)
  const same = join(dir, 'same.pts')
  writeFileSync(same, formatPts(Array.from({ length: 136 }, () => 5)))
  writeFileSync(join(dir, 'same.png'), encodePng({ width: 8, height: 8, data: new Float32Array(64) }))
  assert.match(err(load300W([same])), /same\.pts: all 68 points lie at one spot \(4\.5, 4\.5\): no face box/)
  writeFileSync(join(dir, 'bad.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))
  assert.match(
    err(decodeImage(readFileSync(join(dir, 'bad.jpg')), 'bad.jpg')),
    /^bad\.jpg: cannot decode the JPEG data \(7 bytes\): the file is corrupt or truncated$/,
  )
})

test('IDX (MNIST / Fashion-MNIST): hand-made files, gzip, and every malformed header named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-idx-'))
  // two 2×3 images, unsigned bytes, big-endian sizes
  const images = Buffer.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 0])
  const labels = Buffer.from([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 3])
  writeFileSync(join(dir, 'img.idx'), images)
  writeFileSync(join(dir, 'lab.idx.gz'), gzipSync(labels))
  const m = ok(loadMnist(join(dir, 'img.idx'), join(dir, 'lab.idx.gz'), { standardize: 'none' }))
  assert.deepEqual(m.images.shape, [2, 2, 3, 1])
  assert.deepEqual(
    Array.from(m.images.data.subarray(0, 6), (v) => Math.round(v * 255)),
    [0, 51, 102, 153, 204, 255],
  )
  assert.deepEqual(Array.from(m.labels.data), [7, 3])
  const ints = ok(parseIdx(Buffer.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]), 'i.idx'))
  assert.deepEqual(Array.from(ints.data), [-2, 256])
  assert.match(
    err(parseIdx(images.subarray(0, 20), 't.idx')),
    /t\.idx: dimensions \[2, 2, 3\] of unsigned bytes need 28 bytes, the file has 20 \(truncated\)/,
  )
  assert.match(err(parseIdx(Buffer.from('PK\x03\x04'), 'z.idx')), /z\.idx: not an IDX file: it starts with bytes 50 4b/)
  assert.match(err(parseIdx(Buffer.from([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), 'y.idx')), /y\.idx: byte 2: unknown IDX value type 0x07/)
  assert.match(err(parseIdx(Buffer.from([0, 0, 8]), 's.idx')), /s\.idx: 3 bytes is too short/)
  writeFileSync(join(dir, 'few.idx'), Buffer.from([0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2, 3]))
  assert.match(err(loadMnist(join(dir, 'img.idx'), join(dir, 'few.idx'))), /few\.idx: 3 labels for the 2 images/)
  writeFileSync(join(dir, 'bad.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2]))
  assert.match(err(readIdx(join(dir, 'bad.gz'))), /bad\.gz: the gzip data is corrupt or truncated/)
  assert.match(err(readIdx(join(dir, 'nope.idx'))), /nope\.idx: cannot read the file: no such file/)
})
