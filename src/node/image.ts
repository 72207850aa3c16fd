/**
 * Image decoding and resampling for the real-data loaders, in pure JS (pngjs, jpeg-js): bytes -> grayscale
 * float image in [0,1] -> a square crop around the face, resized to the network's input side. Coordinates are
 * continuous pixel units with pixel j spanning [j, j+1) (its centre at j + 0.5), the same convention as the
 * synthetic landmarks before their division by the side.
 */
import { type Either, left, right } from 'fp-ts/lib/Either.js'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'

/** A grayscale image, row-major, values in [0,1]. */
export interface GrayImage {
  width: number
  height: number
  data: Float32Array
}

/** An axis-aligned box in pixel units. */
export interface Box {
  x: number
  y: number
  w: number
  h: number
}

const isPng = (b: Uint8Array): boolean => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47
const isJpeg = (b: Uint8Array): boolean => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff

/** ITU-R BT.601 luma of 8-bit RGBA pixels, in [0,1]; alpha is ignored. */
const rgbaToGray = (rgba: Uint8Array, width: number, height: number): GrayImage => {
  const data = new Float32Array(width * height)
  for (let p = 0; p < data.length; p++) data[p] = (0.299 * rgba[4 * p] + 0.587 * rgba[4 * p + 1] + 0.114 * rgba[4 * p + 2]) / 255
  return { width, height, data }
}

/** Decodes PNG or JPEG bytes (told apart by their signature) to grayscale; `name` labels errors. */
export const decodeImage = (bytes: Uint8Array, name: string): Either<string, GrayImage> => {
  try {
    if (isPng(bytes)) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      return right(rgbaToGray(png.data, png.width, png.height))
    }
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true })
      return right(rgbaToGray(img.data, img.width, img.height))
    }
  } catch {
    // the decoders' own messages ("invalid signature", "unexpected end") mean little to a user
    return left(
      `${name}: cannot decode the ${isPng(bytes) ? 'PNG' : 'JPEG'} data (${bytes.length} bytes): the file is corrupt or truncated`,
    )
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')
  return left(`${name}: not a PNG or JPEG file (starts with bytes ${head || '(empty)'})`)
}

/** Encodes a grayscale image (values clamped to [0,1]) as 8-bit PNG bytes. */
export const encodePng = (img: GrayImage): Uint8Array => {
  const png = new PNG({ width: img.width, height: img.height })
  for (let p = 0; p < img.data.length; p++) {
    const v = Math.round(255 * Math.max(0, Math.min(1, img.data[p])))
    png.data[4 * p] = v
    png.data[4 * p + 1] = v
    png.data[4 * p + 2] = v
    png.data[4 * p + 3] = 255
  }
  return new Uint8Array(PNG.sync.write(png))
}

/** Bilinear sample at continuous pixel coordinates (x, y), clamped to the border. */
const sample = (img: GrayImage, x: number, y: number): number => {
  const u = Math.max(0, Math.min(img.width - 1, x - 0.5))
  const v = Math.max(0, Math.min(img.height - 1, y - 0.5))
  const j = Math.min(img.width - 2, Math.floor(u))
  const i = Math.min(img.height - 2, Math.floor(v))
  if (img.width === 1 || img.height === 1) return img.data[Math.round(v) * img.width + Math.round(u)]
  const fu = u - j
  const fv = v - i
  const d = img.data
  const w = img.width
  const top = d[i * w + j] * (1 - fu) + d[i * w + j + 1] * fu
  const bot = d[(i + 1) * w + j] * (1 - fu) + d[(i + 1) * w + j + 1] * fu
  return top * (1 - fv) + bot * fv
}

/**
 * Resamples `box` of the image to size×size: bilinear, averaged over a k×k grid per output pixel when
 * shrinking by k or more (plain bilinear would alias a 400-pixel face down to 48). Outside the image the
 * border repeats.
 */
export const cropResize = (img: GrayImage, box: Box, size: number): Float32Array => {
  if (!(box.w > 0 && box.h > 0)) throw new RangeError(`cropResize: box must have positive size, got ${JSON.stringify(box)}`)
  const out = new Float32Array(size * size)
  const sx = box.w / size
  const sy = box.h / size
  const k = Math.max(1, Math.ceil(Math.max(sx, sy)))
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      let acc = 0
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) acc += sample(img, box.x + (c + (b + 0.5) / k) * sx, box.y + (r + (a + 0.5) / k) * sy)
      out[r * size + c] = acc / (k * k)
    }
  return out
}

/**
 * A square box around landmark points ([x0, y0, x1, y1, ...] in pixels): the points' bounding box, its longer
 * side grown by `margin` (0.8 frames a face like the synthetic generator does; the paper grows detector boxes by 0.2).
 */
export const faceBox = (points: ArrayLike<number>, margin = 0.8): Box => {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (let p = 0; p + 1 < points.length; p += 2) {
    x0 = Math.min(x0, points[p])
    x1 = Math.max(x1, points[p])
    y0 = Math.min(y0, points[p + 1])
    y1 = Math.max(y1, points[p + 1])
  }
  const side = Math.max(x1 - x0, y1 - y0) * (1 + margin)
  return { x: (x0 + x1 - side) / 2, y: (y0 + y1 - side) / 2, w: side, h: side }
}
