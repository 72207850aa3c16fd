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

/** Distance between the eye centres (means of points 36–41 and 42–47) per face: [N,68,2] -> [N]. */
export const interPupilDistance = (landmarks: HostTensor): HostTensor => {
  const n = checkLandmarks('interPupilDistance', 'landmarks', landmarks)
  const d = landmarks.data
  const out = new Float64Array(n)
  const centre = (i: number, from: number, axis: number): number => {
    let s = 0
    for (let j = from; j < from + 6; j++) s += d[(i * 68 + j) * 2 + axis]
    return s / 6
  }
  for (let i = 0; i < n; i++) out[i] = Math.hypot(centre(i, 36, 0) - centre(i, 42, 0), centre(i, 36, 1) - centre(i, 42, 1))
  return fromData(out, [n])
}

/** How NME is normalised: outer eye corners (300-W's inter-ocular) or eye centres (inter-pupil). */
export type NmeNormalisation = 'inter-ocular' | 'inter-pupil'

/**
 * Normalised mean error (300-W): per face, the mean over the 68 points of the L2 error divided by the
 * target's inter-ocular (outer eye corner) distance, or inter-pupil distance when asked.
 * [N,68,2] x [N,68,2] -> { perImage [N], mean }.
 */
export const nme = (
  pred: HostTensor,
  target: HostTensor,
  by: NmeNormalisation = 'inter-ocular',
): { perImage: HostTensor; mean: number } => {
  const n = checkLandmarks('nme', 'pred', pred)
  const m = checkLandmarks('nme', 'target', target)
  if (n !== m) throw new ShapeError(`nme: pred ${fmt(pred.shape)} and target ${fmt(target.shape)} differ in N`)
  if (by !== 'inter-ocular' && by !== 'inter-pupil') throw new RangeError(`nme: by must be 'inter-ocular' or 'inter-pupil', got ${by}`)
  const iod = (by === 'inter-ocular' ? interOcularDistance(target) : interPupilDistance(target)).data
  const p = pred.data
  const t = target.data
  const out = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    if (!(iod[i] > 0)) throw new RangeError(`nme: target ${i} has ${by} distance ${iod[i]}`)
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

/** Cumulative error distribution: for each threshold, the fraction of per-image errors ≤ it ([N] errors, [K] thresholds → [K]). */
export const cumulativeErrors = (errors: ArrayLike<number>, thresholds: readonly number[]): number[] => {
  const n = errors.length
  if (n === 0) throw new RangeError('cumulativeErrors: no errors given')
  return thresholds.map((t) => {
    let c = 0
    for (let i = 0; i < n; i++) if (errors[i] <= t) c++
    return c / n
  })
}
