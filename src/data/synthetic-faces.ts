/**
 * Procedural two-domain face data: small grayscale faces with 68 iBUG landmarks and one of 13 subtle
 * expressions. Domain A (the expression task, like LSEMSW) and domain B (the landmark task, like 300-W) differ
 * in rendering style, pose range and identity distribution, so the two tasks come from disjoint, shifted
 * datasets as in Hu et al. 2018. Every face i is a pure function of (key, domain, i): the first m faces of a
 * set of n > m are the set of m.
 */
import * as t from 'io-ts'
import { fromData, type HostTensor } from '../tensor/host.ts'
import { foldIn, type Key, normalArray, split, uniformArray } from '../tensor/prng.ts'
import {
  basicExpressionNames,
  basicExpressionShifts,
  type Expression,
  expressionNames,
  expressionParams,
  expressionShifts,
  faceGeometry,
  type Identity,
  type Pose,
  projector,
  type Vec3,
} from './face-model.ts'
import { blur121, clip, ellipse, type Pt, paint, polygon, stroke } from './raster.ts'

export { basicExpressionNames, expressionNames, NUM_EXPRESSIONS } from './face-model.ts'

/**
 * Which rendering domain: 'A' (expression task, LSEMSW-like), 'B' (landmark task, 300-W-like) or 'C' (the strong
 * expression set of the transfer experiment, CK+-like: studio lighting, frontal, mid-grey backgrounds).
 */
export const Domain = t.keyof({ A: null, B: null, C: null })
export type Domain = t.TypeOf<typeof Domain>

/**
 * Options of `generateFaces` (io-ts codec of the same name, for presets and CLI flags; `generateFaces` checks
 * ranges itself):
 * - n: number of faces; size: side in pixels (default 48);
 * - domain: 'A' (light, soft, noisy) or 'B' (dark, hard, blurred, wider pose range), default 'A';
 * - intensity: multiplies every expression shift (default 1): 0 makes all classes identical; a nearest-class-mean
 *   classifier on landmark geometry scores about 0.38 / 0.67 / 0.93 at 0.5 / 1 / 2 (chance 0.077), on raw pixels
 *   0.10 / 0.12 / 0.16 (pose, identity and lighting dominate the pixels; a CNN has to find the cue);
 * - standardize: 'fixed' (default) maps v in [0,1] to (v − 0.5) / 0.25, which keeps the domain shift;
 *   'none' returns raw values in [0, 1];
 * - classes: 'subtle13' (default, the 13 LSEMSW states) or 'basic7' (happy … neutral, for the transfer set);
 * - domainShift (default 1): how far domains B and C sit from A. Every number of the rendering style (background,
 *   skin and hair tones, contrast, gamma, blur, noise, lighting gradient, pose ranges, identity means) is
 *   interpolated A + s·(D − A); 0 renders B/C exactly like A (only the identity draws differ), 1 is the
 *   documented style, values above 1 extrapolate (ranges are kept valid). Domain A ignores it;
 * - occlusion (default 0): the probability that a face carries an occluder (a flat patch over an eye, the mouth
 *   or a cheek). Landmarks stay the true positions (as in 300-W, occluded points are still annotated).
 *
 * `challenging[i]` marks the strong tail of the pose / lighting / occlusion distribution (300-W's "challenging"
 * subset analogue, about a quarter of the faces): |yaw| or |roll| above 90% of the domain's range, the lighting
 * gradient above 95% of its range on either axis, or an occluder.
 */
export const FaceOptions = t.intersection([
  t.type({ n: t.number }),
  t.partial({
    size: t.number,
    domain: Domain,
    intensity: t.number,
    standardize: t.keyof({ fixed: null, none: null }),
    classes: t.keyof({ subtle13: null, basic7: null }),
    domainShift: t.number,
    occlusion: t.number,
  }),
])
export type FaceOptions = t.TypeOf<typeof FaceOptions>

/** A generated data set; landmarks are (x, y) normalised to [0, 1] by the image side (pixel j spans [j, j+1)/S). */
export interface Faces {
  images: HostTensor // [N, S, S, 1]
  landmarks: HostTensor // [N, 68, 2]
  labels: HostTensor // [N], class indices 0..12 into expressionNames (0..6 into basicExpressionNames for 'basic7')
  domain: Domain
  /** 1 where the face is in the challenging tail (strong pose, lighting or an occluder), else 0: [N]. */
  challenging: Uint8Array
}

type Range = readonly [number, number]

interface DomainStyle {
  background: Range
  skin: Range
  hair: Range
  featureAlpha: number // < 1: soft, washed-out features
  contrast: Range
  gamma: Range
  blurPasses: number
  noiseStd: number
  light: number // max illumination gradient across the image
  yaw: number
  pitch: number
  roll: number
  scale: Range
  shift: number
  identityShift: Partial<Record<keyof Identity, number>>
}

const styles: Record<Domain, DomainStyle> = {
  A: {
    background: [0.68, 0.95],
    skin: [0.38, 0.66],
    hair: [0.05, 0.45],
    featureAlpha: 0.9,
    contrast: [0.7, 0.9],
    gamma: [0.9, 1.1],
    blurPasses: 0,
    noiseStd: 0.02,
    light: 0.25,
    yaw: 0.12,
    pitch: 0.06,
    roll: 0.06,
    scale: [0.95, 1.05],
    shift: 0.02,
    identityShift: {},
  },
  B: {
    background: [0.03, 0.25],
    skin: [0.5, 0.85],
    hair: [0.1, 0.6],
    featureAlpha: 1,
    contrast: [1.2, 1.45],
    gamma: [1.2, 1.6],
    blurPasses: 1,
    noiseStd: 0.01,
    light: 0.4,
    yaw: 0.35,
    pitch: 0.15,
    roll: 0.25,
    scale: [0.85, 1.08],
    shift: 0.05,
    identityShift: { jawWidth: 0.05, eyeW: 0.015, eyeH: 0.01, mouthY: 0.03, foreheadHeight: -0.06, noseW: 0.02 },
  },
  C: {
    background: [0.35, 0.55],
    skin: [0.6, 0.9],
    hair: [0.02, 0.3],
    featureAlpha: 1,
    contrast: [0.95, 1.15],
    gamma: [0.75, 0.95],
    blurPasses: 0,
    noiseStd: 0.03,
    light: 0.15,
    yaw: 0.15,
    pitch: 0.08,
    roll: 0.08,
    scale: [0.92, 1.05],
    shift: 0.03,
    identityShift: { jawWidth: -0.04, eyeW: 0.01, mouthW: 0.02, browThick: 0.01 },
  },
}

const lerp = (a: number, b: number, s: number): number => a + s * (b - a)
const lerpRange = (a: Range, b: Range, s: number, lo = 0): Range => {
  const x = Math.max(lo, lerp(a[0], b[0], s))
  return [x, Math.max(x, lerp(a[1], b[1], s))]
}

/** Domain d's style moved a fraction s of the way from A (s = 1: the style itself); see FaceOptions.domainShift. */
const shiftedStyle = (d: Domain, s: number): DomainStyle => {
  const a = styles.A
  const b = styles[d]
  if (d === 'A' || s === 1) return b
  const ids = new Set([...Object.keys(a.identityShift), ...Object.keys(b.identityShift)]) as Set<keyof Identity>
  return {
    background: lerpRange(a.background, b.background, s),
    skin: lerpRange(a.skin, b.skin, s),
    hair: lerpRange(a.hair, b.hair, s),
    featureAlpha: Math.min(1, Math.max(0.3, lerp(a.featureAlpha, b.featureAlpha, s))),
    contrast: lerpRange(a.contrast, b.contrast, s, 0.2),
    gamma: lerpRange(a.gamma, b.gamma, s, 0.3),
    blurPasses: Math.max(0, Math.round(lerp(a.blurPasses, b.blurPasses, s))),
    noiseStd: Math.max(0, lerp(a.noiseStd, b.noiseStd, s)),
    light: Math.max(0, lerp(a.light, b.light, s)),
    yaw: Math.max(0, lerp(a.yaw, b.yaw, s)),
    pitch: Math.max(0, lerp(a.pitch, b.pitch, s)),
    roll: Math.max(0, lerp(a.roll, b.roll, s)),
    scale: lerpRange(a.scale, b.scale, s, 0.5),
    shift: Math.max(0, lerp(a.shift, b.shift, s)),
    identityShift: Object.fromEntries([...ids].map((k) => [k, lerp(a.identityShift[k] ?? 0, b.identityShift[k] ?? 0, s)])),
  }
}

/** The two class sets a face set can be drawn from. */
const classSets = {
  subtle13: { names: expressionNames as readonly string[], shifts: expressionShifts as Readonly<Record<string, Partial<Expression>>> },
  basic7: {
    names: basicExpressionNames as readonly string[],
    shifts: basicExpressionShifts as Readonly<Record<string, Partial<Expression>>>,
  },
}
type ClassSet = (typeof classSets)[keyof typeof classSets]

// identity means and standard deviations (canonical units); domain B shifts some means
const identityPrior: Record<keyof Identity, readonly [number, number]> = {
  jawWidth: [0.95, 0.05],
  jawTop: [-0.08, 0.03],
  jawHeight: [1.0, 0.05],
  chinPow: [0.9, 0.12],
  foreheadHeight: [1.02, 0.05],
  eyeY: [-0.2, 0.025],
  eyeSep: [0.4, 0.025],
  eyeW: [0.19, 0.015],
  eyeH: [0.085, 0.01],
  eyeTilt: [0.015, 0.015],
  irisR: [0.075, 0.006],
  browGap: [0.17, 0.025],
  browArch: [0.05, 0.015],
  browThick: [0.065, 0.008],
  noseTip: [0.2, 0.035],
  noseW: [0.16, 0.015],
  mouthY: [0.55, 0.035],
  mouthW: [0.31, 0.025],
  upperLip: [0.065, 0.01],
  lowerLip: [0.085, 0.012],
  restOpen: [0.0, 0.008],
  hairline: [0.9, 0.35],
  hairVolume: [0.5, 0.4],
}
const identityKeys = Object.keys(identityPrior) as (keyof Identity)[]

/** Sequential draws from one per-face block of uniforms (Box-Muller for normals). */
const drawer = (k: Key, n: number) => {
  const u = uniformArray(k, n)
  let i = 0
  const next = (): number => {
    if (i >= u.length) throw new Error('generateFaces: internal draw budget exceeded')
    return u[i++]
  }
  return {
    uniform: ([lo, hi]: Range): number => lo + (hi - lo) * next(),
    normal: (mean: number, std: number): number => mean + std * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  }
}

const DRAWS = 128
/** Spread of each person's resting expression along every axis (in shift units; 1 = a class's typical shift). */
const REST_STD = 0.12

/** Renders face i of a domain: returns its pixels (raw, in [0,1]), pixel-space landmarks and label. */
const renderFace = (
  k: Key,
  kNoise: Key,
  i: number,
  size: number,
  style: DomainStyle,
  intensity: number,
  classes: ClassSet,
  occlusion: number,
): { pixels: Float32Array; landmarks: Pt[]; label: number; challenging: boolean } => {
  const d = drawer(foldIn(k, i), DRAWS)
  const nc = classes.names.length
  const label = Math.min(nc - 1, Math.floor(d.uniform([0, nc])))
  const id = {} as Identity
  for (const name of identityKeys) {
    const [m, s] = identityPrior[name]
    id[name] = d.normal(m + (style.identityShift[name] ?? 0), s)
  }
  id.chinPow = Math.max(0.5, id.chinPow)
  id.hairline = Math.max(0, id.hairline)
  id.eyeH = Math.max(0.04, id.eyeH)
  const strength = intensity * d.uniform([0.7, 1.3])
  const shifts = classes.shifts[classes.names[label]]
  const e = {} as Expression
  // a resting face: everyone's neutral differs a little along every expression axis
  for (const p of expressionParams) e[p] = d.normal(0, REST_STD) + strength * (shifts[p] ?? 0)
  const side = d.uniform([0, 1]) < 0.5 ? -1 : 1
  const pose: Pose = {
    yaw: d.uniform([-style.yaw, style.yaw]),
    pitch: d.uniform([-style.pitch, style.pitch]),
    roll: d.uniform([-style.roll, style.roll]),
    scale: d.uniform(style.scale),
    tx: d.uniform([-style.shift, style.shift]),
    ty: d.uniform([-style.shift, style.shift]),
  }
  const g = faceGeometry(id, e, side)
  const proj = projector(pose, size)
  const unit = 0.29 * size * pose.scale
  const P = (p: Vec3): Pt => proj(p)
  const lm = g.landmarks.map(P)
  const bg = d.uniform(style.background)
  const skin = d.uniform(style.skin)
  const hair = d.uniform(style.hair)
  const fa = style.featureAlpha
  const img = new Float32Array(size * size)
  const bgGrad = d.uniform([-0.15, 0.15])
  for (let r = 0; r < size; r++) img.fill(bg + bgGrad * ((r + 0.5) / size - 0.5), r * size, (r + 1) * size)
  const ell = (c: Vec3, a: number, b: number): ReturnType<typeof ellipse> => {
    const [x, y] = P(c)
    return ellipse(x, y, a * unit, b * unit, pose.roll)
  }
  const jw = id.jawWidth
  const neckTop = id.jawTop + 0.5 * id.jawHeight
  const neck: Vec3[] = [
    [-0.36 * jw, neckTop, 0],
    [0.36 * jw, neckTop, 0],
    [0.42 * jw, neckTop + 3, 0],
    [-0.42 * jw, neckTop + 3, 0],
  ]
  paint(img, size, polygon(neck.map(P)), skin * 0.8)
  paint(img, size, ell(g.hairBack.c, g.hairBack.a, g.hairBack.b), hair)
  const face = polygon(g.outline.map(P))
  paint(img, size, face, skin)
  if (id.hairline > 0.05) paint(img, size, clip(ell(g.fringe.c, g.fringe.a, g.fringe.b), face), hair)
  // brows, thicker at the inner end
  const bt = id.browThick * unit
  paint(img, size, stroke(lm.slice(17, 22), 0.6 * bt, bt), skin * 0.3, fa)
  paint(img, size, stroke(lm.slice(22, 27), bt, 0.6 * bt), skin * 0.3, fa)
  // eyes: sclera, iris clipped by the lids, upper lid (lashes) darker than the lower one
  for (const [base, iris] of [
    [36, g.irisL],
    [42, g.irisR],
  ] as const) {
    const eye = polygon(lm.slice(base, base + 6))
    paint(img, size, eye, skin + (1 - skin) * 0.55, fa)
    paint(img, size, clip(ell(iris, g.irisRadius, g.irisRadius), eye), skin * 0.2, fa)
    paint(img, size, stroke(lm.slice(base, base + 4), 0.035 * unit), skin * 0.25, fa)
    paint(img, size, stroke([lm[base + 3], lm[base + 4], lm[base + 5], lm[base]], 0.02 * unit), skin * 0.45, fa)
  }
  // nose: a shaded side of the bridge, the base and the nostrils
  const shadeSide = d.uniform([0, 1]) < 0.5 ? -1 : 1
  const bridge = lm.slice(28, 31).map(([x, y]): Pt => [x + shadeSide * 0.07 * unit, y])
  paint(img, size, stroke(bridge, 0.03 * unit), skin * 0.75, 0.6 * fa)
  paint(img, size, stroke(lm.slice(31, 36), 0.025 * unit), skin * 0.65, 0.7 * fa)
  for (const n of g.nostrils) paint(img, size, ell(n, 0.045, 0.028), skin * 0.4, fa)
  // mouth: lips, the dark opening, and the line where the lips meet
  paint(img, size, polygon(lm.slice(48, 60)), skin * d.uniform([0.55, 0.75]), fa)
  paint(img, size, polygon(lm.slice(60, 68)), 0.08, fa)
  paint(img, size, stroke([lm[48], ...lm.slice(60, 65), lm[54]], 0.018 * unit), skin * 0.35, fa)
  // an occluder from its own stream, so the faces without one are the same with or without the option
  const od = drawer(foldIn(foldIn(k, i), 0x0cc1), 8)
  const occluded = occlusion > 0 && od.uniform([0, 1]) < occlusion
  if (occluded) {
    const where = [lm[37], lm[44], lm[57], lm[3], lm[13]][Math.min(4, Math.floor(od.uniform([0, 5])))]
    const w = od.uniform([0.25, 0.45]) * unit
    const h = od.uniform([0.2, 0.4]) * unit
    const [cx, cy] = where
    paint(
      img,
      size,
      polygon([
        [cx - w, cy - h],
        [cx + w, cy - h],
        [cx + w, cy + h],
        [cx - w, cy + h],
      ]),
      od.uniform([0.05, 0.95]),
    )
  }
  // illumination gradient, then the domain's camera: contrast, gamma, blur, sensor noise
  const lx = d.uniform([-style.light, style.light])
  const ly = d.uniform([-style.light, style.light])
  const contrast = d.uniform(style.contrast)
  const gamma = d.uniform(style.gamma)
  // gamma through a 256-step table: a pow per pixel was a third of the generation time
  const lut = new Float32Array(257)
  for (let q = 0; q <= 256; q++) lut[q] = (q / 256) ** gamma
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      const v = img[r * size + c] * (1 + lx * ((c + 0.5) / size - 0.5) + ly * ((r + 0.5) / size - 0.5))
      const w = 256 * (0.5 + (v - 0.5) * contrast)
      const q = w <= 0 ? 0 : w >= 256 ? 255 : Math.floor(w)
      const f = w <= 0 ? 0 : w >= 256 ? 1 : w - q
      img[r * size + c] = lut[q] + f * (lut[q + 1] - lut[q])
    }
  const out = style.blurPasses > 0 ? blur121(img, size, style.blurPasses) : img
  const noise = normalArray(foldIn(kNoise, i), size * size)
  for (let p = 0; p < out.length; p++) {
    const v = out[p] + style.noiseStd * noise[p]
    out[p] = Math.max(0, Math.min(v, 1))
  }
  const strongPose = Math.abs(pose.yaw) > 0.9 * style.yaw || Math.abs(pose.roll) > 0.9 * style.roll
  const strongLight = Math.max(Math.abs(lx), Math.abs(ly)) > 0.95 * style.light
  return { pixels: out, landmarks: lm, label, challenging: strongPose || strongLight || occluded }
}

const check = (ok: boolean, msg: string): void => {
  if (!ok) throw new RangeError(`generateFaces: ${msg}`)
}

/** Generates n faces of one domain: images [N,S,S,1], landmarks [N,68,2] in [0,1], labels [N] in 0..12. */
export const generateFaces = (k: Key, options: FaceOptions, onProgress?: (done: number, total: number) => void): Faces => {
  const { n, size = 48, domain = 'A', intensity = 1, standardize = 'fixed', classes = 'subtle13', domainShift = 1, occlusion = 0 } = options
  check(Number.isInteger(n) && n >= 0, `n must be a non-negative integer, got ${n}`)
  check(Number.isInteger(size) && size >= 16 && size <= 1024, `size must be an integer in [16, 1024], got ${size}`)
  check(domain === 'A' || domain === 'B' || domain === 'C', `domain must be 'A', 'B' or 'C', got ${JSON.stringify(domain)}`)
  check(classes === 'subtle13' || classes === 'basic7', `classes must be 'subtle13' or 'basic7', got ${JSON.stringify(classes)}`)
  check(Number.isFinite(domainShift) && domainShift >= 0 && domainShift <= 3, `domainShift must be a number in [0, 3], got ${domainShift}`)
  check(Number.isFinite(occlusion) && occlusion >= 0 && occlusion <= 1, `occlusion must be a probability in [0, 1], got ${occlusion}`)
  check(Number.isFinite(intensity) && intensity >= 0, `intensity must be a finite number >= 0, got ${intensity}`)
  check(standardize === 'fixed' || standardize === 'none', `standardize must be 'fixed' or 'none', got ${JSON.stringify(standardize)}`)
  // the domains draw from different streams, so face i of A and face i of B are unrelated people
  const [kA, kB] = split(k)
  const [kFace, kNoise] = split(domain === 'A' ? kA : domain === 'B' ? kB : foldIn(kB, 0xc))
  const style = shiftedStyle(domain, domainShift)
  const cs = classSets[classes]
  const challenging = new Uint8Array(n)
  const px = size * size
  const images = new Float32Array(n * px)
  const landmarks = new Float32Array(n * 68 * 2)
  const labels = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const f = renderFace(kFace, kNoise, i, size, style, intensity, cs, occlusion)
    onProgress?.(i + 1, n)
    challenging[i] = f.challenging ? 1 : 0
    if (standardize === 'fixed') for (let p = 0; p < px; p++) images[i * px + p] = (f.pixels[p] - 0.5) / 0.25
    else images.set(f.pixels, i * px)
    for (let j = 0; j < 68; j++) {
      landmarks[(i * 68 + j) * 2] = f.landmarks[j][0] / size
      landmarks[(i * 68 + j) * 2 + 1] = f.landmarks[j][1] / size
    }
    labels[i] = f.label
  }
  return {
    images: fromData(images, [n, size, size, 1]),
    landmarks: fromData(landmarks, [n, 68, 2]),
    labels: fromData(labels, [n]),
    domain,
    challenging,
  }
}

/** The expression task of a face set: `{ x: images [N,S,S,1], y: labels [N] }`. */
export const expressionTask = (f: Faces): { x: HostTensor; y: HostTensor } => ({ x: f.images, y: f.labels })

/** The landmark task of a face set: `{ x: images [N,S,S,1], y: landmarks flattened to [N,136] (x0,y0,x1,...) }`. */
export const landmarkTask = (f: Faces): { x: HostTensor; y: HostTensor } => ({
  x: f.images,
  y: fromData(f.landmarks.data, [f.landmarks.shape[0], 136]),
})
