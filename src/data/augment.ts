/**
 * Keyed, pure augmentation of face batches: horizontal flips that remap the 68 landmark indices (a mirrored
 * left eye is a right eye) and small integer translations with edge replication.
 */
import { fromData, type HostTensor } from '../tensor/host.ts'
import { type Key, split, uniformArray } from '../tensor/prng.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'
import { flipIndex68 } from './landmarks.ts'

/** Images [N,H,W,C] with optional landmarks [N,68,2] normalised to [0,1] and any other fields (kept as is). */
export interface FaceBatch {
  images: HostTensor
  landmarks?: HostTensor
  [field: string]: HostTensor | undefined
}

/** Options of `augment`. */
export interface AugmentOptions {
  /** Probability of a horizontal flip per image (default 0.5). */
  flipProb?: number
  /** Largest translation in pixels along each axis (default 2). */
  maxShift?: number
}

const dims = (op: string, b: FaceBatch): [number, number, number, number] => {
  const s = b.images.shape
  if (s.length !== 4) throw new ShapeError(`${op}: images must have shape [N,H,W,C], got ${fmt(s)}`)
  const l = b.landmarks?.shape
  if (l && (l.length !== 3 || l[0] !== s[0] || l[1] !== 68 || l[2] !== 2))
    throw new ShapeError(`${op}: landmarks must have shape [${s[0]},68,2] to match images ${fmt(s)}, got ${fmt(l)}`)
  return [s[0], s[1], s[2], s[3]]
}

/**
 * Moves image i by (dx, dy) pixels, mirrored first when flip; pixels shifted in from outside repeat the edge.
 * Landmarks follow: x -> 1 - x under the flip (pixel j spans [j, j+1)/W), with the iBUG index remapping.
 */
const transform = (b: FaceBatch, flips: readonly boolean[], dxs: readonly number[], dys: readonly number[]): FaceBatch => {
  const [n, h, w, c] = dims('augment', b)
  const src = b.images.data
  const img = new (src.constructor as Float32ArrayConstructor)(src.length)
  for (let i = 0; i < n; i++) {
    const base = i * h * w * c
    for (let y = 0; y < h; y++) {
      const sy = Math.max(0, Math.min(h - 1, y - dys[i]))
      for (let x = 0; x < w; x++) {
        let sx = Math.max(0, Math.min(w - 1, x - dxs[i]))
        if (flips[i]) sx = w - 1 - sx
        for (let ch = 0; ch < c; ch++) img[base + (y * w + x) * c + ch] = src[base + (sy * w + sx) * c + ch]
      }
    }
  }
  const out: FaceBatch = { ...b, images: fromData(img, b.images.shape) }
  if (b.landmarks) {
    const l = b.landmarks.data
    const m = new (l.constructor as Float32ArrayConstructor)(l.length)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < 68; j++) {
        const from = (i * 68 + (flips[i] ? flipIndex68[j] : j)) * 2
        const x = flips[i] ? 1 - l[from] : l[from]
        m[(i * 68 + j) * 2] = x + dxs[i] / w
        m[(i * 68 + j) * 2 + 1] = l[from + 1] + dys[i] / h
      }
    out.landmarks = fromData(m, b.landmarks.shape)
  }
  return out
}

/** Mirrors every image left-right, remapping landmark indices; applying it twice gives the input back. */
export const flipHorizontal = <B extends FaceBatch>(b: B): B => {
  const n = dims('flipHorizontal', b)[0]
  const zero = new Array<number>(n).fill(0)
  return transform(b, new Array<boolean>(n).fill(true), zero, zero) as B
}

/** Translates image i by (dx[i], dy[i]) whole pixels (edge replication), moving its landmarks along. */
export const translate = <B extends FaceBatch>(b: B, dx: readonly number[], dy: readonly number[]): B => {
  const n = dims('translate', b)[0]
  if (dx.length !== n || dy.length !== n || ![...dx, ...dy].every(Number.isInteger))
    throw new RangeError(`translate: dx and dy must hold ${n} integers, got ${dx.length} and ${dy.length}`)
  return transform(b, new Array<boolean>(n).fill(false), dx, dy) as B
}

/** Random flip (probability flipProb) and integer shift in [-maxShift, maxShift] per image, drawn from the key. */
export const augment = <B extends FaceBatch>(k: Key, b: B, options: AugmentOptions = {}): B => {
  const { flipProb = 0.5, maxShift = 2 } = options
  if (!(flipProb >= 0 && flipProb <= 1)) throw new RangeError(`augment: flipProb must be in [0, 1], got ${flipProb}`)
  if (!Number.isInteger(maxShift) || maxShift < 0) throw new RangeError(`augment: maxShift must be a non-negative integer, got ${maxShift}`)
  const n = dims('augment', b)[0]
  const [kf, kx, ky] = split(k, 3)
  const shift = (u: number): number => Math.min(maxShift, Math.floor(u * (2 * maxShift + 1)) - maxShift)
  const flips = Array.from(uniformArray(kf, n), (u) => u < flipProb)
  return transform(b, flips, Array.from(uniformArray(kx, n), shift), Array.from(uniformArray(ky, n), shift)) as B
}
