/**
 * The parametric face behind the synthetic data: identity, expression and pose parameters map to the 68
 * iBUG landmarks (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67) plus the few extra points the
 * renderer needs (face outline, iris centres, nostrils, hair). Canonical units: the face half-width is ~1,
 * x to the image right, y down, z towards the camera (only used for yaw/pitch).
 */

/** The 13 LSEMSW emotions and mental states (Hu et al. 2018, Table 2), in label order. */
export const expressionNames = [
  'happy',
  'anxious',
  'sad',
  'scared',
  'angry',
  'hesitant',
  'indifferent',
  'surprised',
  'arrogant',
  'thinking',
  'helpless',
  'suspicious',
  'questioning',
] as const
export type ExpressionName = (typeof expressionNames)[number]
/** Number of expression classes (13). */
export const NUM_EXPRESSIONS = expressionNames.length

/** Action-unit-like expression parameters; 1 unit is a subtle but visible shift (see `landmarks3d`). */
export interface Expression {
  mouthCurve: number // + corners up (smile), - corners down
  mouthOpen: number // lips part, chin drops
  mouthWidth: number // corners pulled outwards
  lipPress: number // lips thin and close
  smileAsym: number // one corner up (+) or down (-); side chosen per face so flips keep the class
  browRaise: number
  browInner: number // inner ends up (worry, sadness)
  browFurrow: number // inner ends down and together
  browAsym: number // one brow up
  eyeOpen: number // + widen, - squint
  gazeX: number // iris shift, side chosen per face (not in the landmarks: an image-only cue)
  gazeY: number // + down, - up
}
export type ExpressionParam = keyof Expression
/** The expression parameters, in a fixed order (the draw order of the generator: changing it changes every face). */
export const expressionParams: readonly ExpressionParam[] = [
  'mouthCurve',
  'mouthOpen',
  'mouthWidth',
  'lipPress',
  'smileAsym',
  'browRaise',
  'browInner',
  'browFurrow',
  'browAsym',
  'eyeOpen',
  'gazeX',
  'gazeY',
]

/**
 * Each class is a sparse combination of parameter shifts. Several classes share parameters (sad / helpless /
 * anxious all raise the inner brows) so that, like the real subtle states, they are only told apart by the
 * combination and are easily confused.
 */
export const expressionShifts: Readonly<Record<ExpressionName, Partial<Expression>>> = {
  happy: { mouthCurve: 1, mouthWidth: 0.5, eyeOpen: -0.3 },
  anxious: { browInner: 0.7, lipPress: 0.8, eyeOpen: 0.4 },
  sad: { mouthCurve: -0.9, browInner: 0.9, eyeOpen: -0.2 },
  scared: { eyeOpen: 1, browRaise: 0.5, browInner: 0.5, mouthWidth: 0.7, mouthOpen: 0.3 },
  angry: { browFurrow: 1, eyeOpen: -0.5, lipPress: 0.8 },
  hesitant: { lipPress: 0.5, gazeY: 1, browInner: 0.3, smileAsym: -0.4 },
  indifferent: { eyeOpen: -0.6, mouthCurve: -0.25 },
  surprised: { browRaise: 1, eyeOpen: 0.8, mouthOpen: 0.9 },
  arrogant: { smileAsym: 1, eyeOpen: -0.4, browRaise: 0.3 },
  thinking: { gazeX: 1, gazeY: -0.8, browFurrow: 0.4, lipPress: 0.4, smileAsym: -0.3 },
  helpless: { browInner: 1, browRaise: 0.3, mouthCurve: -0.5, mouthOpen: 0.35 },
  suspicious: { eyeOpen: -0.8, browAsym: 0.5, browFurrow: 0.3, gazeX: 0.6 },
  questioning: { browAsym: 1, browRaise: 0.3, mouthOpen: 0.3, smileAsym: -0.2 },
}

/** The 7 basic expressions of the "strong expression" sets (CK+, Oulu-CASIA-like), in label order. */
export const basicExpressionNames = ['happy', 'sad', 'scared', 'angry', 'surprised', 'disgusted', 'neutral'] as const
export type BasicExpressionName = (typeof basicExpressionNames)[number]

/** Shifts of the basic classes: five shared with the subtle set, disgust new, neutral none (only the resting face). */
export const basicExpressionShifts: Readonly<Record<BasicExpressionName, Partial<Expression>>> = {
  happy: expressionShifts.happy,
  sad: expressionShifts.sad,
  scared: expressionShifts.scared,
  angry: expressionShifts.angry,
  surprised: expressionShifts.surprised,
  disgusted: { lipPress: 0.4, browFurrow: 0.6, mouthCurve: -0.6, eyeOpen: -0.4, mouthWidth: 0.3 },
  neutral: {},
}

/** Per-person shape of the face (canonical units). */
export interface Identity {
  jawWidth: number
  jawTop: number // y of points 0 and 16
  jawHeight: number
  chinPow: number // < 1 squarer jaw
  foreheadHeight: number
  eyeY: number
  eyeSep: number // |x| of the eye centres
  eyeW: number // eye half-width
  eyeH: number // eye half-height when neutral
  eyeTilt: number // outer corners up (+)
  irisR: number
  browGap: number
  browArch: number
  browThick: number
  noseTip: number
  noseW: number
  mouthY: number
  mouthW: number
  upperLip: number
  lowerLip: number
  restOpen: number
  hairline: number // fringe depth multiplier; 0 = no fringe
  hairVolume: number
}

/** Head pose: yaw/pitch/roll in radians, scale (1 = default face size), translation in pixels / size. */
export interface Pose {
  yaw: number
  pitch: number
  roll: number
  scale: number
  tx: number
  ty: number
}

export type Vec3 = readonly [number, number, number]

/** Canonical 3-D points of one face: the 68 landmarks and what the renderer needs besides. */
export interface FaceGeometry {
  landmarks: Vec3[] // 68
  outline: Vec3[] // closed skin polygon: jaw 0..16 then the forehead arc back to 0
  irisL: Vec3
  irisR: Vec3
  irisRadius: number
  nostrils: [Vec3, Vec3]
  hairBack: { c: Vec3; a: number; b: number }
  fringe: { c: Vec3; a: number; b: number }
}

const depth = (x: number, w: number): number => 0.6 * Math.sqrt(Math.max(0, 1 - (x * x) / (w * w * 1.1)))

/**
 * Canonical geometry of a face. `side` (±1) picks the face side of the asymmetric parameters, so
 * the mirror image of a face has the same class.
 */
export const faceGeometry = (id: Identity, e: Expression, side: number): FaceGeometry => {
  const lm: Vec3[] = new Array(68)
  const gap = Math.max(0, id.restOpen + 0.2 * e.mouthOpen) * Math.max(0, 1 - e.lipPress)
  // jaw: lower half ellipse; the chin follows the opening mouth
  for (let i = 0; i <= 16; i++) {
    const t = (Math.PI * i) / 16
    const s = Math.sin(t)
    const x = -id.jawWidth * Math.cos(t)
    const y = id.jawTop + id.jawHeight * s ** id.chinPow + 0.6 * gap * s ** 4
    lm[i] = [x, y, 0.6 * s]
  }
  // brows: 17-21 image-left (outer -> inner), 22-26 image-right (inner -> outer)
  for (const sd of [-1, 1]) {
    const outerX = sd * (id.eyeSep + id.eyeW + 0.09)
    const innerX = sd * (id.eyeSep - id.eyeW - 0.03)
    const asym = sd === side ? e.browAsym : 0
    for (let j = 0; j < 5; j++) {
      const u = j / 4 // 0 outer, 1 inner
      const inner = u * u
      const x = outerX + (innerX - outerX) * u - sd * 0.08 * e.browFurrow * inner
      const y =
        id.eyeY -
        id.browGap -
        id.browArch * Math.sin(Math.PI * (0.15 + 0.7 * u)) -
        0.14 * e.browRaise -
        0.16 * e.browInner * inner +
        0.12 * e.browFurrow * inner -
        0.16 * asym
      const idx = sd < 0 ? 17 + j : 26 - j
      lm[idx] = [x, y, depth(x, id.jawWidth) + 0.05]
    }
  }
  // nose: bridge 27-30 down the midline, base 31-35
  for (let k = 0; k < 4; k++) {
    const y = id.eyeY - 0.03 + ((id.noseTip - id.eyeY + 0.03) * k) / 3
    lm[27 + k] = [0, y, 0.6 + 0.12 * (k + 1)]
  }
  const baseY = [0.05, 0.08, 0.09, 0.08, 0.05]
  const baseX = [-1, -0.5, 0, 0.5, 1]
  for (let k = 0; k < 5; k++) lm[31 + k] = [baseX[k] * id.noseW, id.noseTip + baseY[k], 0.75 - 0.1 * Math.abs(baseX[k])]
  // eyes: 36-41 image-left, 42-47 image-right; corners, then upper lid left->right, lower lid right->left
  const openU = Math.max(0.15, 1 + 0.8 * e.eyeOpen + 0.1 * e.browRaise)
  const openL = Math.max(0.3, 1 + 0.5 * e.eyeOpen)
  for (const sd of [-1, 1]) {
    const cx = sd * id.eyeSep
    const z = depth(cx, id.jawWidth)
    const outerY = id.eyeY - id.eyeTilt
    const leftX = cx - id.eyeW
    const rightX = cx + id.eyeW
    const leftY = sd < 0 ? outerY : id.eyeY
    const rightY = sd < 0 ? id.eyeY : outerY
    const up = (u: number): number => id.eyeH * openU * Math.sqrt(1 - u * u)
    const lo = (u: number): number => 0.8 * id.eyeH * openL * Math.sqrt(1 - u * u)
    const cy = (u: number): number => leftY + ((rightY - leftY) * (u + 1)) / 2
    const pts: Vec3[] = [
      [leftX, leftY, z],
      [cx - id.eyeW / 3, cy(-1 / 3) - up(1 / 3), z],
      [cx + id.eyeW / 3, cy(1 / 3) - up(1 / 3), z],
      [rightX, rightY, z],
      [cx + id.eyeW / 3, cy(1 / 3) + lo(1 / 3), z],
      [cx - id.eyeW / 3, cy(-1 / 3) + lo(1 / 3), z],
    ]
    // left eye starts at its outer corner (36, image-left); right eye at its inner corner (42, image-left)
    const base = sd < 0 ? 36 : 42
    for (let k = 0; k < 6; k++) lm[base + k] = pts[k]
  }
  // mouth: outer 48-59 (corner 48 image-left, clockwise), inner 60-67
  const mw = id.mouthW + 0.08 * e.mouthWidth + 0.03 * e.mouthCurve
  const ul = id.upperLip * (1 - 0.45 * Math.max(0, e.lipPress))
  const ll = id.lowerLip * (1 - 0.45 * Math.max(0, e.lipPress))
  const my = id.mouthY - 0.015 * e.lipPress
  const lift = (x: number): number => {
    const u = x / mw
    const a = Math.max(0, u * side)
    return -(0.14 * e.mouthCurve * u * u + 0.14 * e.smileAsym * a * a)
  }
  const mp = (x: number, y: number): Vec3 => [x, y + lift(x), depth(x, id.jawWidth) + 0.08]
  const outerUp = [0.6, 1, 0.85, 1, 0.6]
  const outerLo = [0.65, 0.93, 1, 0.93, 0.65]
  const ux = [-0.55, -0.22, 0, 0.22, 0.55]
  lm[48] = mp(-mw, my)
  for (let k = 0; k < 5; k++) lm[49 + k] = mp(ux[k] * mw, my - gap / 2 - ul * outerUp[k])
  lm[54] = mp(mw, my)
  for (let k = 0; k < 5; k++) lm[55 + k] = mp(-ux[k] * mw, my + gap / 2 + ll * outerLo[k]) // 55 right -> 59 left
  lm[60] = mp(-0.88 * mw, my)
  for (let k = 0; k < 3; k++) lm[61 + k] = mp((k - 1) * 0.4 * mw, my - gap / 2)
  lm[64] = mp(0.88 * mw, my)
  for (let k = 0; k < 3; k++) lm[65 + k] = mp((1 - k) * 0.4 * mw, my + gap / 2) // 65 right -> 67 left
  // skin outline: the jaw, then the forehead arc from point 16 back over the top to point 0
  const outline: Vec3[] = lm.slice(0, 17)
  for (let k = 1; k < 14; k++) {
    const s = (Math.PI * k) / 14
    outline.push([id.jawWidth * 1.02 * Math.cos(s), id.jawTop - id.foreheadHeight * Math.sin(s), 0])
  }
  const gx = 0.45 * id.eyeW * Math.max(-1, Math.min(1, e.gazeX)) * side
  const gy = 0.35 * id.eyeH * Math.max(-1, Math.min(1, e.gazeY))
  const iris = (sd: number): Vec3 => {
    const cx = sd * id.eyeSep + gx
    return [cx, id.eyeY + gy, depth(cx, id.jawWidth)]
  }
  const ny = id.noseTip + 0.06
  return {
    landmarks: lm,
    outline,
    irisL: iris(-1),
    irisR: iris(1),
    irisRadius: id.irisR,
    nostrils: [
      [-0.45 * id.noseW, ny, 0.72],
      [0.45 * id.noseW, ny, 0.72],
    ],
    hairBack: {
      c: [0, id.jawTop - 0.35 * id.foreheadHeight, -0.2],
      a: id.jawWidth * (1.1 + 0.1 * id.hairVolume),
      b: id.foreheadHeight * (0.85 + 0.15 * id.hairVolume),
    },
    fringe: {
      c: [0, id.jawTop - 1.02 * id.foreheadHeight, 0.2],
      a: id.jawWidth * 1.04,
      b: id.foreheadHeight * 0.45 * id.hairline,
    },
  }
}

/** Projects canonical points to pixels: yaw and pitch (orthographic), roll, then scale and translation. */
export const projector = (pose: Pose, size: number): ((p: Vec3) => [number, number]) => {
  const cy = Math.cos(pose.yaw)
  const sy = Math.sin(pose.yaw)
  const cp = Math.cos(pose.pitch)
  const sp = Math.sin(pose.pitch)
  const cr = Math.cos(pose.roll)
  const sr = Math.sin(pose.roll)
  const unit = 0.29 * size * pose.scale // pixels per canonical unit
  const ox = size * (0.5 + pose.tx)
  const oy = size * (0.5 + pose.ty) + 0.06 * unit // the chin is further from the centre than the brow
  return ([x, y, z]) => {
    const x1 = x * cy + z * sy
    const z1 = -x * sy + z * cy
    const y1 = y * cp - z1 * sp
    return [ox + unit * (x1 * cr - y1 * sr), oy + unit * (x1 * sr + y1 * cr)]
  }
}
