/** The 68-point iBUG layout: mirror remapping, inter-ocular distance, normalised mean error. */
import { fromData, type HostTensor } from '../tensor/host.ts'
import { fmt, ShapeError } from '../tensor/shape.ts'

/** Point index ranges of the 68-point iBUG (300-W) layout. */
export const landmarkGroups = {
  jaw: [0, 17],
  rightBrow: [17, 22], // the subject's right: image left
  leftBrow: [22, 27],
  noseBridge: [27, 31],
  noseBase: [31, 36],
  rightEye: [36, 42],
  leftEye: [42, 48],
  outerMouth: [48, 60],
  innerMouth: [60, 68],
} as const

const pairs: readonly (readonly [number, number])[] = [
  ...Array.from({ length: 8 }, (_, i) => [i, 16 - i] as const),
  [17, 26],
  [18, 25],
  [19, 24],
  [20, 23],
  [21, 22],
  [31, 35],
  [32, 34],
  [36, 45],
  [37, 44],
  [38, 43],
  [39, 42],
  [40, 47],
  [41, 46],
  [48, 54],
  [49, 53],
  [50, 52],
  [55, 59],
  [56, 58],
  [60, 64],
  [61, 63],
  [65, 67],
]

/** flipIndex68[j]: the point that j becomes in the mirror image (an involution; midline points map to themselves). */
export const flipIndex68: readonly number[] = (() => {
  const p = Array.from({ length: 68 }, (_, i) => i)
  for (const [a, b] of pairs) {
    p[a] = b
    p[b] = a
  }
  return p
})()

const checkLandmarks = (op: string, name: string, t: HostTensor): number => {
  const s = t.shape
  if (s.length !== 3 || s[1] !== 68 || s[2] !== 2) throw new ShapeError(`${op}: ${name} must have shape [N,68,2], got ${fmt(s)}`)
  return s[0]
}

/** Distance between the outer eye corners (points 36 and 45) per face: [N,68,2] -> [N]. */
export const interOcularDistance = (landmarks: HostTensor): HostTensor => {
  const n = checkLandmarks('interOcularDistance', 'landmarks', landmarks)
  const d = landmarks.data
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const a = (i * 68 + 36) * 2
    const b = (i * 68 + 45) * 2
    out[i] = Math.hypot(d[a] - d[b], d[a + 1] - d[b + 1])
  }
  return fromData(out, [n])
}

/**
 * Normalised mean error (300-W): per face, the mean over the 68 points of the L2 error divided by the
 * target's inter-ocular (outer eye corner) distance. [N,68,2] x [N,68,2] -> { perImage [N], mean }.
 */
export const nme = (pred: HostTensor, target: HostTensor): { perImage: HostTensor; mean: number } => {
  const n = checkLandmarks('nme', 'pred', pred)
  const m = checkLandmarks('nme', 'target', target)
  if (n !== m) throw new ShapeError(`nme: pred ${fmt(pred.shape)} and target ${fmt(target.shape)} differ in N`)
  const iod = interOcularDistance(target).data
  const p = pred.data
  const t = target.data
  const out = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    if (!(iod[i] > 0)) throw new RangeError(`nme: target ${i} has inter-ocular distance ${iod[i]}`)
    let e = 0
    for (let j = 0; j < 68; j++) {
      const o = (i * 68 + j) * 2
      e += Math.hypot(p[o] - t[o], p[o + 1] - t[o + 1])
    }
    out[i] = e / 68 / iod[i]
    sum += out[i]
  }
  return { perImage: fromData(out, [n]), mean: n > 0 ? sum / n : Number.NaN }
}
