/**
 * The GEMM-class primitives as implicit GEMMs for the tiled WGSL kernel (`gemm.ts`): operand loaders that read
 * matmul operands (any transposes, batched) or conv windows (NHWC / HWIO, strides, any padding) straight from
 * the tensors' buffers. Each loader returns 4 consecutive values along the operand's contiguous axis, as one
 * vec4 load when that axis is a multiple of 4, else as 4 bounds-checked scalar loads (odd sizes, partial tiles).
 */
import { sizeOf } from '../../../tensor/shape.ts'
import type { KernelCall } from '../../backend.ts'
import { matmulDims } from '../../geometry.ts'
import type { AlongA, AlongB, GemmSpec } from './gemm.ts'

const u = (v: number): string => `${v >>> 0}u`
const i = (v: number): string => `${v | 0}i`

/**
 * `fn loadX(b, r, c) -> vec4<f32>` from a scalar WGSL body `scalar` (bounds-checked, returns f32 for one
 * element at (r, c)) or, when `vec` is set, an aligned vec4 read at flat index `vecIndex` (a multiple of 4).
 * `along` names which of (r, c) the 4 values advance.
 */
const loader = (name: 'A' | 'B', axes: readonly [string, string], along: 0 | 1, inRange: string, scalar: string, vec?: string): string => {
  const [r, c] = axes
  const args = `b: u32, ${r}: u32, ${c}: u32`
  if (vec)
    return `fn load${name}(${args}) -> vec4<f32> {
  if (!(${inRange})) { return vec4<f32>(0.0); }
  return ${name}[(${vec}) / 4u];
}`
  const at = (d: number) => (along === 0 ? [`${r} + ${d}u`, c] : [r, `${c} + ${d}u`])
  return `fn ${name.toLowerCase()}1(${args}) -> f32 {
  if (!(${inRange})) { return 0.0; }
  ${scalar}
}
fn load${name}(${args}) -> vec4<f32> {
  return vec4<f32>(${[0, 1, 2, 3].map((d) => `${name.toLowerCase()}1(b, ${at(d).join(', ')})`).join(', ')});
}`
}

/** matmul `[..., m, k] × [..., k, n]` (transA / transB): A along its contiguous axis, likewise B. */
const matmulSpec = (call: KernelCall): GemmSpec => {
  const { m, n, k, batch, transA, transB, ai, ap, bp, bj } = matmulDims(call)
  const alongA: AlongA = transA ? 'm' : 'k'
  const alongB: AlongB = transB ? 'k' : 'n'
  const vecA = (transA ? m : k) % 4 === 0
  const vecB = (transB ? k : n) % 4 === 0
  const aIdx = `b * ${u(m * k)} + m * ${u(ai)} + k * ${u(ap)}`
  const bIdx = `b * ${u(k * n)} + k * ${u(bp)} + n * ${u(bj)}`
  const loaders = [
    loader('A', ['m', 'k'], transA ? 0 : 1, `m < ${u(m)} && k < ${u(k)}`, `return A[${aIdx}];`, vecA ? aIdx : undefined),
    loader('B', ['k', 'n'], transB ? 0 : 1, `k < ${u(k)} && n < ${u(n)}`, `return B[${bIdx}];`, vecB ? bIdx : undefined),
  ].join('\n')
  return { m, n, k, batch, alongA, alongB, vecA, vecB, loaders }
}

/** Conv geometry over NHWC input x, HWIO filter w and NHWC output y. */
const convGeom = (call: KernelCall, x: readonly number[], w: readonly number[], y: readonly number[]) => {
  const [sh, sw] = call.attrs.strides as number[]
  const [pt, , pl] = call.attrs.pads as number[]
  return { n: x[0], h: x[1], wd: x[2], cin: x[3], oh: y[1], ow: y[2], kh: w[0], kw: w[1], cout: w[3], sh, sw, pt, pl }
}
type ConvGeom = ReturnType<typeof convGeom>

/** WGSL lines that find input pixel (ih, iw) of output pixel (oi, oj) at tap (p, q), returning 0 outside. */
const inputPixel = (g: ConvGeom): string =>
  [
    `let ih = i32(oi * ${u(g.sh)} + p) - ${i(g.pt)};`,
    `let iw = i32(oj * ${u(g.sw)} + q) - ${i(g.pl)};`,
    `if (ih < 0i || ih >= ${i(g.h)} || iw < 0i || iw >= ${i(g.wd)}) { return ${'RET0'}; }`,
  ].join('\n  ')

/** conv2d (x, w) → y: M = n·oh·ow output pixels, N = cout, K = kh·kw·cin taps; A gathers x windows. */
const conv2dSpec = (call: KernelCall): GemmSpec => {
  const [xs, ws] = call.inShapes
  const g = convGeom(call, xs, ws, call.outShape)
  const m = g.n * g.oh * g.ow
  const k = g.kh * g.kw * g.cin
  const vecA = g.cin % 4 === 0
  const vecB = g.cout % 4 === 0
  const body = (ret0: string) =>
    [
      `let bb = m / ${u(g.oh * g.ow)};`,
      `let r = m % ${u(g.oh * g.ow)};`,
      `let oi = r / ${u(g.ow)};`,
      `let oj = r % ${u(g.ow)};`,
      `let pq = k / ${u(g.cin)};`,
      `let c = k % ${u(g.cin)};`,
      `let p = pq / ${u(g.kw)};`,
      `let q = pq % ${u(g.kw)};`,
      inputPixel(g).replace('RET0', ret0),
      `let at = ((bb * ${u(g.h)} + u32(ih)) * ${u(g.wd)} + u32(iw)) * ${u(g.cin)} + c;`,
    ].join('\n  ')
  const inRange = `m < ${u(m)} && k < ${u(k)}`
  const a = vecA
    ? `fn loadA(b: u32, m: u32, k: u32) -> vec4<f32> {
  if (!(${inRange})) { return vec4<f32>(0.0); }
  ${body('vec4<f32>(0.0)')}
  return A[at / 4u];
}`
    : loader('A', ['m', 'k'], 1, inRange, `${body('0.0')}\n  return A[at];`)
  const bIdx = `k * ${u(g.cout)} + n`
  const b = loader('B', ['k', 'n'], 1, `k < ${u(k)} && n < ${u(g.cout)}`, `return B[${bIdx}];`, vecB ? bIdx : undefined)
  return { m, n: g.cout, k, batch: 1, alongA: 'k', alongB: 'n', vecA, vecB, loaders: `${a}\n${b}` }
}

/**
 * conv2dBackInput (dy, w) → dx: M = n·h·w input pixels, N = cin, K = kh·kw·cout. A gathers the dy pixel that
 * tap (p, q) of each input pixel feeds (zero where the stride skips it), B reads w[p, q, c, o] along o.
 */
const conv2dBackInputSpec = (call: KernelCall): GemmSpec => {
  const [ys, ws] = call.inShapes
  const g = convGeom(call, call.outShape, ws, ys)
  const m = g.n * g.h * g.wd
  const k = g.kh * g.kw * g.cout
  const vec = g.cout % 4 === 0
  const axis = (v: string, t: string, o: string, s: number, pad: number, out: number, tap: string, ret0: string) =>
    [
      `let ${t} = i32(${v}) + ${i(pad)} - i32(${tap});`,
      `if (${t} < 0i${s > 1 ? ` || ${t} % ${i(s)} != 0i` : ''}) { return ${ret0}; }`,
      `let ${o} = u32(${t}) / ${u(s)};`,
      `if (${o} >= ${u(out)}) { return ${ret0}; }`,
    ].join('\n  ')
  const body = (ret0: string) =>
    [
      `let bb = m / ${u(g.h * g.wd)};`,
      `let r = m % ${u(g.h * g.wd)};`,
      `let ih = r / ${u(g.wd)};`,
      `let iw = r % ${u(g.wd)};`,
      `let pq = k / ${u(g.cout)};`,
      `let o = k % ${u(g.cout)};`,
      `let p = pq / ${u(g.kw)};`,
      `let q = pq % ${u(g.kw)};`,
      axis('ih', 'ti', 'oi', g.sh, g.pt, g.oh, 'p', ret0),
      axis('iw', 'tj', 'oj', g.sw, g.pl, g.ow, 'q', ret0),
      `let at = ((bb * ${u(g.oh)} + oi) * ${u(g.ow)} + oj) * ${u(g.cout)} + o;`,
    ].join('\n  ')
  const inA = `m < ${u(m)} && k < ${u(k)}`
  const a = vec
    ? `fn loadA(b: u32, m: u32, k: u32) -> vec4<f32> {
  if (!(${inA})) { return vec4<f32>(0.0); }
  ${body('vec4<f32>(0.0)')}
  return A[at / 4u];
}`
    : loader('A', ['m', 'k'], 1, inA, `${body('0.0')}\n  return A[at];`)
  // w[p, q, c, o] with (p, q, o) from k and c = n
  const bIdx = `((k / ${u(g.cout)}) * ${u(g.cin)} + n) * ${u(g.cout)} + k % ${u(g.cout)}`
  const b = loader('B', ['k', 'n'], 0, `k < ${u(k)} && n < ${u(g.cin)}`, `return B[${bIdx}];`, vec ? bIdx : undefined)
  return { m, n: g.cin, k, batch: 1, alongA: 'k', alongB: 'k', vecA: vec, vecB: vec, loaders: `${a}\n${b}` }
}

/**
 * conv2dBackFilter (x, dy) → dw: M = kh·kw·cin filter rows, N = cout, K = n·oh·ow output pixels (long: split
 * over workgroups). A gathers x along c (contiguous), B reads dy rows.
 */
const conv2dBackFilterSpec = (call: KernelCall): GemmSpec => {
  const [xs, ys] = call.inShapes
  const g = convGeom(call, xs, call.outShape, ys)
  const m = g.kh * g.kw * g.cin
  const k = g.n * g.oh * g.ow
  const vecA = g.cin % 4 === 0
  const vecB = g.cout % 4 === 0
  const body = (ret0: string) =>
    [
      `let pq = m / ${u(g.cin)};`,
      `let c = m % ${u(g.cin)};`,
      `let p = pq / ${u(g.kw)};`,
      `let q = pq % ${u(g.kw)};`,
      `let bb = k / ${u(g.oh * g.ow)};`,
      `let r = k % ${u(g.oh * g.ow)};`,
      `let oi = r / ${u(g.ow)};`,
      `let oj = r % ${u(g.ow)};`,
      inputPixel(g).replace('RET0', ret0),
      `let at = ((bb * ${u(g.h)} + u32(ih)) * ${u(g.wd)} + u32(iw)) * ${u(g.cin)} + c;`,
    ].join('\n  ')
  const inA = `m < ${u(m)} && k < ${u(k)}`
  const a = vecA
    ? `fn loadA(b: u32, m: u32, k: u32) -> vec4<f32> {
  if (!(${inA})) { return vec4<f32>(0.0); }
  ${body('vec4<f32>(0.0)')}
  return A[at / 4u];
}`
    : loader('A', ['m', 'k'], 0, inA, `${body('0.0')}\n  return A[at];`)
  const bIdx = `k * ${u(g.cout)} + n`
  const b = loader('B', ['k', 'n'], 1, `k < ${u(k)} && n < ${u(g.cout)}`, `return B[${bIdx}];`, vecB ? bIdx : undefined)
  return { m, n: g.cout, k, batch: 1, alongA: 'm', alongB: 'n', vecA, vecB, loaders: `${a}\n${b}` }
}

const specs: Readonly<Record<string, (call: KernelCall) => GemmSpec>> = {
  matmul: matmulSpec,
  conv2d: conv2dSpec,
  conv2dBackInput: conv2dBackInputSpec,
  conv2dBackFilter: conv2dBackFilterSpec,
}

/** The ops the tiled kernel implements. */
export const TILED_OPS: ReadonlySet<string> = new Set(Object.keys(specs))

/** The implicit-GEMM description of a tiled op's call (undefined for other ops or empty shapes). */
export const gemmSpec = (call: KernelCall): GemmSpec | undefined => {
  const f = specs[call.op]
  if (!f || sizeOf(call.outShape) === 0 || call.inShapes.some((s) => sizeOf(s) === 0)) return undefined
  return f(call)
}
