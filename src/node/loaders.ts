/**
 * Node file-system loaders for the real data sets: 300-W (`.pts` + image of the same name) for the landmark
 * task and an LSEMSW-style `path,label` list for the expression task. They produce the same tensors as
 * `generateFaces` (images [N,S,S,1] standardised the same way, landmarks [N,68,2] in [0,1]), so a training
 * script switches data by switching one call. Errors come back as `Left` messages naming file and line.
 */
import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { dirname, isAbsolute, join, parse } from 'node:path'
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { type Box, cropResize, decodeImage, faceBox, type GrayImage } from './image.ts'
import { parseIdx, parseLabelList, parsePts } from '../data/loaders.ts'

const reasons: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a path component is a file, not a folder',
}

const read = (path: string): Either<string, Buffer> => {
  try {
    return right(readFileSync(path))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? ''
    return left(`${path}: cannot read the file: ${reasons[code] ?? code ?? 'unknown error'}`)
  }
}

/**
 * Reads an IDX file (the MNIST / Fashion-MNIST format; `.gz` files are unpacked): its dimensions and values
 * as float32.
 */
export const readIdx = (path: string): Either<string, { dims: number[]; data: Float32Array }> => {
  const bytes = read(path)
  if (isLeft(bytes)) return bytes
  let b = bytes.right
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = gunzipSync(b)
    } catch {
      return left(`${path}: the gzip data is corrupt or truncated`)
    }
  }
  return parseIdx(b, path)
}

/**
 * Loads an MNIST-style pair of IDX files: images [N,28,28,1] (scaled to [0,1], then standardised like the
 * other loaders unless `standardize: 'none'`) and labels [N].
 */
export const loadMnist = (
  imagesPath: string,
  labelsPath: string,
  options: Pick<LoadOptions, 'standardize'> = {},
): Either<string, { images: HostTensor; labels: HostTensor }> => {
  const bad = checkOptions('loadMnist', options)
  if (isLeft(bad)) return bad
  const im = readIdx(imagesPath)
  if (isLeft(im)) return im
  const lb = readIdx(labelsPath)
  if (isLeft(lb)) return lb
  const [n, h, w] = im.right.dims
  if (im.right.dims.length !== 3)
    return left(`${imagesPath}: expected 3 dimensions [N, rows, columns] for images, got [${im.right.dims.join(', ')}]`)
  if (lb.right.dims.length !== 1) return left(`${labelsPath}: expected 1 dimension [N] for labels, got [${lb.right.dims.join(', ')}]`)
  if (lb.right.dims[0] !== n) return left(`${labelsPath}: ${lb.right.dims[0]} labels for the ${n} images of ${imagesPath}`)
  const s = options.standardize ?? 'fixed'
  const images = Float32Array.from(im.right.data, (v) => finish(v / 255, s))
  return right({ images: fromData(images, [n, h, w, 1]), labels: fromData(lb.right.data, [n]) })
}

/** Reads a `.pts` file: points [x0, y0, ...] in pixels. */
export const readPts = (path: string, expectPoints: number | null = 68): Either<string, Float64Array> => {
  const bytes = read(path)
  return isLeft(bytes) ? bytes : parsePts(bytes.right.toString('utf8'), path, expectPoints)
}

/** Reads a PNG or JPEG file as a grayscale image in [0,1]. */
export const readGrayImage = (path: string): Either<string, GrayImage> => {
  const bytes = read(path)
  return isLeft(bytes) ? bytes : decodeImage(bytes.right, path)
}

/** Options shared by the file loaders. */
export interface LoadOptions {
  /** Output side in pixels (default 48). */
  size?: number
  /** As in `generateFaces`: 'fixed' (default) maps v to (v − 0.5) / 0.25; 'none' keeps [0,1]. */
  standardize?: 'fixed' | 'none'
}

/** Checks the shared options; Left names the loader, the option and its value. */
const checkOptions = (fn: string, o: LoadOptions & { margin?: number }): Either<string, null> => {
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size > 0 && o.size <= 4096))
    return left(`${fn}: size must be a whole number of pixels from 1 to 4096, got ${o.size}`)
  if (o.standardize !== undefined && o.standardize !== 'fixed' && o.standardize !== 'none')
    return left(`${fn}: standardize must be 'fixed' or 'none', got ${JSON.stringify(o.standardize)}`)
  if (o.margin !== undefined && !(Number.isFinite(o.margin) && o.margin >= 0))
    return left(`${fn}: margin must be a number ≥ 0, got ${o.margin}`)
  return right(null)
}

const finish = (v: number, standardize: 'fixed' | 'none'): number => (standardize === 'fixed' ? (v - 0.5) / 0.25 : v)

const imageExtensions = ['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.JPEG']

/**
 * Loads 300-W style samples: for each `.pts` file, the image with the same name (.png/.jpg/.jpeg), cropped to
 * a square box around its landmarks (`faceBox` with `margin`) and resized; landmarks normalised to [0,1] in
 * the crop. `oneBased` (default true, the 300-W convention, first pixel centred at (1,1)) shifts points by
 * −0.5 to this library's convention (first pixel spanning [0,1)).
 */
export const load300W = (
  ptsFiles: readonly string[],
  options: LoadOptions & { margin?: number; oneBased?: boolean } = {},
): Either<string, { images: HostTensor; landmarks: HostTensor; files: string[] }> => {
  const bad = checkOptions('load300W', options)
  if (isLeft(bad)) return bad
  const { size = 48, standardize = 'fixed', margin = 0.8, oneBased = true } = options
  const n = ptsFiles.length
  if (n === 0) return left('load300W: no .pts files given')
  const images = new Float32Array(n * size * size)
  const landmarks = new Float32Array(n * 136)
  for (let i = 0; i < n; i++) {
    const pts = readPts(ptsFiles[i])
    if (isLeft(pts)) return pts
    const p = pts.right.map((v) => (oneBased ? v - 0.5 : v))
    const { dir, name } = parse(ptsFiles[i])
    const imagePath = imageExtensions.map((e) => join(dir, name + e)).find(existsSync)
    if (!imagePath) return left(`${ptsFiles[i]}: no image ${name}.png/.jpg/.jpeg next to it`)
    const img = readGrayImage(imagePath)
    if (isLeft(img)) return img
    const box: Box = faceBox(p, margin)
    if (!(box.w > 0))
      return left(`${ptsFiles[i]}: all ${p.length / 2} points lie at one spot (${p[0]}, ${p[1]}): no face box can be drawn around them`)
    const crop = cropResize(img.right, box, size)
    for (let q = 0; q < crop.length; q++) images[i * size * size + q] = finish(crop[q], standardize)
    for (let j = 0; j < 68; j++) {
      landmarks[i * 136 + 2 * j] = (p[2 * j] - box.x) / box.w
      landmarks[i * 136 + 2 * j + 1] = (p[2 * j + 1] - box.y) / box.h
    }
  }
  return right({
    images: fromData(images, [n, size, size, 1]),
    landmarks: fromData(landmarks, [n, 68, 2]),
    files: [...ptsFiles],
  })
}

/** The largest centred square of an image (face crops from a detector are near-square already). */
const centreSquare = (img: GrayImage): Box => {
  const s = Math.min(img.width, img.height)
  return { x: (img.width - s) / 2, y: (img.height - s) / 2, w: s, h: s }
}

/**
 * Loads an LSEMSW-style list file (`path,label` lines; paths relative to the list's folder): each image's
 * centred square resized to size×size. Returns images [N,S,S,1], labels [N] (0..12) and the resolved paths.
 */
export const loadLabelledImages = (
  listFile: string,
  options: LoadOptions = {},
): Either<string, { images: HostTensor; labels: HostTensor; paths: string[] }> => {
  const bad = checkOptions('loadLabelledImages', options)
  if (isLeft(bad)) return bad
  const { size = 48, standardize = 'fixed' } = options
  const text = read(listFile)
  if (isLeft(text)) return text
  const entries = parseLabelList(text.right.toString('utf8'), listFile)
  if (isLeft(entries)) return entries
  const n = entries.right.length
  const images = new Float32Array(n * size * size)
  const labels = new Float32Array(n)
  const paths: string[] = []
  for (let i = 0; i < n; i++) {
    const { path, label } = entries.right[i]
    const full = isAbsolute(path) ? path : join(dirname(listFile), path)
    const img = readGrayImage(full)
    if (isLeft(img)) return left(`${listFile}: entry ${i + 1}: ${img.left}`)
    const crop = cropResize(img.right, centreSquare(img.right), size)
    for (let q = 0; q < crop.length; q++) images[i * size * size + q] = finish(crop[q], standardize)
    labels[i] = label
    paths.push(full)
  }
  return right({ images: fromData(images, [n, size, size, 1]), labels: fromData(labels, [n]), paths })
}
