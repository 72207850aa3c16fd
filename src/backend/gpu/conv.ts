/**
 * gpu.js kernel sources for convolution (NHWC / HWIO), pooling and the loss primitives. Scatters of the
 * reference kernels (conv/pool input gradients) are written as gathers: each thread finds the output
 * pixels whose window covers its input pixel, so every output element is written by exactly one thread.
 */
import { type Shape, sizeOf } from '../../tensor/shape.ts'
import type { KernelCall } from '../backend.ts'
import { dot, type GenCtx, type KernelSource, kernelFn, kernelOf, lit, readAt, threads, unravel, view3 } from './codegen.ts'

type Gen = (call: KernelCall, ctx: GenCtx) => KernelSource

/** Window geometry of a conv/pool call over input `[n,h,w,c]` with output `[n,oh,ow,·]`. */
const geom = (call: KernelCall, x: Shape, y: Shape, k: readonly number[]) => {
  const [sh, sw] = call.attrs.strides as number[]
  const [pt, , pl] = call.attrs.pads as number[]
  return { n: x[0], h: x[1], w: x[2], c: x[3], oh: y[1], ow: y[2], kh: k[0], kw: k[1], sh, sw, pt, pl }
}
type Geom = ReturnType<typeof geom>

/** Loops over the in-bounds taps (p, q) of output pixel (oi, oj); `body` sees `ih`, `iw`. */
const taps = (g: Geom, oi: string, oj: string, body: readonly string[]): string[] => [
  `for (let p = 0; p < ${g.kh}; p++) {`,
  `const ih = ${oi} * ${lit(g.sh)} + p - ${lit(g.pt)};`,
  `if (ih >= 0.0 && ih < ${lit(g.h)}) {`,
  `for (let q = 0; q < ${g.kw}; q++) {`,
  `const iw = ${oj} * ${lit(g.sw)} + q - ${lit(g.pl)};`,
  `if (iw >= 0.0 && iw < ${lit(g.w)}) {`,
  ...body,
  '}',
  '}',
  '}',
  '}',
]

/** Loops over the output pixels (oi, oj) whose window covers input pixel (ih, iw) at tap (p, q). */
const covering = (g: Geom, ih: string, iw: string, body: readonly string[]): string[] => {
  const axis = (v: string, t: string, o: string, s: number, pad: number, out: number, k: string) => [
    `const ${t} = ${v} + ${lit(pad)} - ${k};`,
    `const ${o} = ${s === 1 ? t : `Math.floor((${t} + 0.5) / ${lit(s)})`};`,
    `if (${t} >= 0.0 && ${o} < ${lit(out)}${s === 1 ? '' : ` && ${o} * ${lit(s)} == ${t}`}) {`,
  ]
  return [
    `for (let p = 0; p < ${g.kh}; p++) {`,
    ...axis(ih, 'ti', 'oi', g.sh, g.pt, g.oh, 'p'),
    `for (let q = 0; q < ${g.kw}; q++) {`,
    ...axis(iw, 'tj', 'oj', g.sw, g.pl, g.ow, 'q'),
    ...body,
    '}',
    '}',
    '}',
    '}',
  ]
}

/** Accumulators `s0…s{v-1}` and the return statement (one value, or Array(4) on the vec4 path). */
const accs = (v: number) => Array.from({ length: v }, (_, k) => `s${k}`)
const ret = (v: number) => (v === 1 ? 'return s0;' : `return [${accs(v).join(', ')}];`)

/**
 * Thread coordinates (b, row, col, channel-or-quad) of an NHWC output: from the flat index, or, on the
 * vec4 path, from a 3-D dispatch `[c/4, cols, n·rows]` (8×8 workgroups: 8 columns × 32 channels share
 * their loads in L1). `src` is the kernel prologue, `dims` the gpu.js output.
 */
const nhwcThreads = (shape: Shape, v: 1 | 4, big: boolean) => {
  const [n, rows, cols, c] = shape
  if (v === 1 && big) return threads(shape, true)
  if (v === 1) {
    const { lines, coords } = unravel('i', [n, rows, cols, c], 'o')
    return { lines: ['const i = this.thread.x;', ...lines], coords, dims: undefined }
  }
  const { lines, coords } = unravel('tz', [n, rows], 'z')
  return {
    lines: ['const tx = this.thread.x;', 'const ty = this.thread.y;', 'const tz = this.thread.z;', ...lines],
    coords: [coords[0], coords[1], 'ty', 'tx'],
    dims: [c / 4, cols, n * rows],
  }
}

/** Whether a vec4 kernel over channel count `c` and `n·rows` z-slices can be dispatched. */
const vec4Ok = (c: number, zs: number) => c % 4 === 0 && zs <= 65535

const fn = (args: readonly string[], body: readonly string[]) => `function (${args.join(', ')}) {\n  ${body.join('\n  ')}\n}`

/** conv2d: one output (or 4 adjacent output channels) per thread; loops over taps and input channels. */
export const conv2dSource = (call: KernelCall, v: 1 | 4, ctx: GenCtx): KernelSource | undefined => {
  const [xs, ws] = call.inShapes
  const g = geom(call, xs, call.outShape, ws)
  const cout = ws[3]
  if (v === 4 && !vec4Ok(cout, g.n * g.oh)) return undefined
  const { lines, coords, dims } = nhwcThreads(call.outShape, v, ctx.big(call.outShape))
  const [b, oi, oj, o] = coords
  const xBig = ctx.big(xs)
  const inner = [
    // a big x is read as x[b·H + ih][iw][c] (exact); a small one through a flat offset
    xBig ? `const xz = ${dot([b, 'ih'], [g.h, 1])};` : `const xo = ${dot([b, 'ih', 'iw'], [g.h * g.w * g.c, g.w * g.c, g.c])};`,
    `const wo = ${dot(['p', 'q', o], [g.kw * g.c * cout, g.c * cout, v])};`,
    `for (let c = 0; c < ${g.c}; c++) {`,
    xBig ? 'const xv = x0[xz][iw][c];' : 'const xv = x0[xo + c];',
    ...accs(v).map((s, k) => `${s} += xv * x1[wo + c * ${cout}${k ? ` + ${k}` : ''}];`),
    '}',
  ]
  const body = [...lines, ...accs(v).map((s) => `let ${s} = 0.0;`), ...taps(g, oi, oj, inner), ret(v)]
  return {
    source: fn(['x0', 'x1'], body),
    size: sizeOf(call.outShape) / v,
    loop: Math.max(g.kh, g.kw, g.c),
    vec: v,
    views: [xBig ? view3(xs) : undefined, undefined],
    ...(dims ? { dims } : {}),
  }
}

/** conv2dBackInput (dy, w) → dx: a gather over the output pixels each input pixel feeds. */
export const conv2dBackInputSource = (call: KernelCall, v: 1 | 4, ctx: GenCtx): KernelSource | undefined => {
  const [ys, ws] = call.inShapes
  const g = geom(call, call.outShape, ys, ws)
  const cout = ws[3]
  if (v === 4 && !vec4Ok(g.c, g.n * g.h)) return undefined
  const { lines, coords, dims } = nhwcThreads(call.outShape, v, ctx.big(call.outShape))
  const [b, ih, iw, c] = coords
  const yBig = ctx.big(ys)
  const inner = [
    yBig ? `const yz = ${dot([b, 'oi'], [g.oh, 1])};` : `const yo = ${dot([b, 'oi', 'oj'], [g.oh * g.ow * cout, g.ow * cout, cout])};`,
    `const wo = ${dot(['p', 'q', c], [g.kw * g.c * cout, g.c * cout, v * cout])};`,
    `for (let o = 0; o < ${cout}; o++) {`,
    yBig ? 'const dv = x0[yz][oj][o];' : 'const dv = x0[yo + o];',
    ...accs(v).map((s, k) => `${s} += dv * x1[wo + o${k ? ` + ${k * cout}` : ''}];`),
    '}',
  ]
  const body = [...lines, ...accs(v).map((s) => `let ${s} = 0.0;`), ...covering(g, ih, iw, inner), ret(v)]
  return {
    source: fn(['x0', 'x1'], body),
    size: sizeOf(call.outShape) / v,
    loop: Math.max(g.kh, g.kw, cout),
    vec: v,
    views: [yBig ? view3(ys) : undefined, undefined],
    ...(dims ? { dims } : {}),
  }
}

/** Threads the filter gradient aims for; below this the batch is split and partial sums added after. */
const DW_THREADS = 1 << 18

/**
 * conv2dBackFilter (x, dy) → dw: each thread sums one filter element over a chunk of the batch; with
 * more than one chunk, a second kernel adds the partial sums (filters are small, batches long).
 */
const conv2dBackFilter: Gen = (call, ctx) => {
  const [xs, ys] = call.inShapes
  const fs = call.outShape
  const g = geom(call, xs, ys, fs)
  const cout = fs[3]
  const size = sizeOf(fs)
  const chunks = Math.min(g.n, Math.max(1, Math.floor(DW_THREADS / size)))
  const per = Math.ceil(g.n / chunks)
  const parts = Math.ceil(g.n / per)
  const { lines, coords } = unravel('i', [parts, g.kh, g.kw, g.c, cout], 'o')
  const [s, p, q, c, o] = coords
  const body = [
    ...lines,
    'let s0 = 0.0;',
    `for (let bb = 0; bb < ${per}; bb++) {`,
    `const b = ${s === '0.0' ? 'bb' : `${s} * ${lit(per)} + bb`};`,
    `if (b < ${lit(g.n)}) {`,
    `for (let oi = 0; oi < ${g.oh}; oi++) {`,
    `const ih = oi * ${lit(g.sh)} + ${p} - ${lit(g.pt)};`,
    `if (ih >= 0.0 && ih < ${lit(g.h)}) {`,
    `for (let oj = 0; oj < ${g.ow}; oj++) {`,
    `const iw = oj * ${lit(g.sw)} + ${q} - ${lit(g.pl)};`,
    `if (iw >= 0.0 && iw < ${lit(g.w)}) {`,
    `s0 += ${readAt('x0', xs, ['b', 'ih', 'iw', c], ctx.big(xs))} * ${readAt('x1', ys, ['b', 'oi', 'oj', o], ctx.big(ys))};`,
    '}',
    '}',
    '}',
    '}',
    '}',
    '}',
    'return s0;',
  ]
  const views = [ctx.big(xs) ? view3(xs) : undefined, ctx.big(ys) ? view3(ys) : undefined]
  const first: KernelSource = { source: kernelFn(['x0', 'x1'], body), size: parts * size, loop: Math.max(per, g.oh, g.ow), views }
  if (parts === 1) return first
  const sum = kernelFn(['x0'], ['let s0 = 0.0;', `for (let k = 0; k < ${parts}; k++) {`, `s0 += x0[k * ${size} + i];`, '}', 'return s0;'])
  return { ...first, next: { source: sum, size, loop: parts } }
}

/**
 * max-pool scan of the window of output pixel (oi, oj), channel `ch` of x (shape `xs`): `best` and the
 * input row/column (`ah`, `aw`) of its first maximum (strict '>' keeps the first on ties, as the reference).
 */
const windowMax = (g: Geom, xs: Shape, big: boolean, b: string, oi: string, oj: string, ch: string): string[] => [
  'let best = 0.0;',
  'let ah = -1.0;',
  'let aw = 0.0;',
  ...taps(g, oi, oj, [
    `const xv = ${readAt('x0', xs, [b, 'ih', 'iw', ch], big)};`,
    'if (ah < 0.0 || xv > best) { best = xv; ah = ih; aw = iw; }',
  ]),
]

/** Output threads of a pooling op over input `x`, with the views of its (possibly big) inputs. */
const poolOut = (call: KernelCall, ctx: GenCtx, x: Shape) => {
  const g = geom(call, x, call.outShape, call.attrs.size as number[])
  const t = threads(call.outShape, ctx.big(call.outShape))
  const views = call.inShapes.map((s) => (ctx.big(s) ? view3(s) : undefined))
  return { g, t, views, dims: t.dims ? { dims: t.dims } : {} }
}

const maxPool: Gen = (call, ctx) => {
  const xs = call.inShapes[0]
  const { g, t, views, dims } = poolOut(call, ctx, xs)
  const [b, oi, oj, ch] = t.coords
  const body = [...t.lines, ...windowMax(g, xs, ctx.big(xs), b, oi, oj, ch), 'return best;']
  return { source: kernelOf(['x0'], t.dims, body), size: sizeOf(call.outShape), loop: Math.max(g.kh, g.kw), views, ...dims }
}

/** maxPoolSelect (x, g): g at each window's first argmax of x. */
const maxPoolSelect: Gen = (call, ctx) => {
  const xs = call.inShapes[0]
  const { g, t, views, dims } = poolOut(call, ctx, xs)
  const [b, oi, oj, ch] = t.coords
  const body = [
    ...t.lines,
    ...windowMax(g, xs, ctx.big(xs), b, oi, oj, ch),
    `return ${readAt('x1', xs, [b, 'ah', 'aw', ch], ctx.big(xs))};`,
  ]
  return { source: kernelOf(['x0', 'x1'], t.dims, body), size: sizeOf(call.outShape), loop: Math.max(g.kh, g.kw), views, ...dims }
}

/** Per-window scans inside a loop need their own names: rename the scan's loop and tap variables. */
const renamed = (lines: readonly string[]): string[] =>
  lines.map((l) =>
    l
      .replace(/\bp\b/g, 'p2')
      .replace(/\bq\b/g, 'q2')
      .replace(/\bih\b/g, 'ih2')
      .replace(/\biw\b/g, 'iw2'),
  )

/** maxPoolBack (x, dy) → dx: each input element sums dy over the windows whose first argmax it is. */
const maxPoolBack: Gen = (call, ctx) => {
  const [xs, ys] = call.inShapes
  const g = geom(call, xs, ys, call.attrs.size as number[])
  const t = threads(xs, ctx.big(xs))
  const [b, ih, iw, ch] = t.coords
  const inner = [
    ...renamed(windowMax(g, xs, ctx.big(xs), b, 'oi', 'oj', ch)),
    `if (ah == ${ih} && aw == ${iw}) { s0 += ${readAt('x1', ys, [b, 'oi', 'oj', ch], ctx.big(ys))}; }`,
  ]
  const views = call.inShapes.map((s) => (ctx.big(s) ? view3(s) : undefined))
  const body = [...t.lines, 'let s0 = 0.0;', ...covering(g, ih, iw, inner), 'return s0;']
  return {
    source: kernelOf(['x0', 'x1'], t.dims, body),
    size: sizeOf(xs),
    loop: Math.max(g.kh, g.kw),
    views,
    ...(t.dims ? { dims: t.dims } : {}),
  }
}

/** Number of in-bounds taps of the window of output pixel (oi, oj): the divisor of average pooling. */
const count = (g: Geom, oi: string, oj: string): string => {
  const span = (o: string, s: number, pad: number, k: number, n: number) =>
    `(Math.min(${lit(n)}, ${o} * ${lit(s)} - ${lit(pad)} + ${lit(k)}) - Math.max(0.0, ${o} * ${lit(s)} - ${lit(pad)}))`
  return `(${span(oi, g.sh, g.pt, g.kh, g.h)} * ${span(oj, g.sw, g.pl, g.kw, g.w)})`
}

const avgPool: Gen = (call, ctx) => {
  const xs = call.inShapes[0]
  const { g, t, views, dims } = poolOut(call, ctx, xs)
  const [b, oi, oj, ch] = t.coords
  const inner = [`s0 += ${readAt('x0', xs, [b, 'ih', 'iw', ch], ctx.big(xs))};`]
  const body = [...t.lines, 'let s0 = 0.0;', ...taps(g, oi, oj, inner), `return s0 / ${count(g, oi, oj)};`]
  return { source: kernelOf(['x0'], t.dims, body), size: sizeOf(call.outShape), loop: Math.max(g.kh, g.kw), views, ...dims }
}

/** avgPoolBack (dy) → dx: each input pixel gathers dy / count from the windows covering it. */
const avgPoolBack: Gen = (call, ctx) => {
  const [ys] = call.inShapes
  const g = geom(call, call.outShape, ys, call.attrs.size as number[])
  const t = threads(call.outShape, ctx.big(call.outShape))
  const [b, ih, iw, ch] = t.coords
  const inner = [`s0 += ${readAt('x0', ys, [b, 'oi', 'oj', ch], ctx.big(ys))} / ${count(g, 'oi', 'oj')};`]
  const views = [ctx.big(ys) ? view3(ys) : undefined]
  const body = [...t.lines, 'let s0 = 0.0;', ...covering(g, ih, iw, inner), 'return s0;']
  return {
    source: kernelOf(['x0'], t.dims, body),
    size: sizeOf(call.outShape),
    loop: Math.max(g.kh, g.kw),
    views,
    ...(t.dims ? { dims: t.dims } : {}),
  }
}

/** oneHot (labels) → [..., depth]: 1 where the label equals the last coordinate. */
const oneHot: Gen = (call) => {
  const depth = call.attrs.depth as number
  const rows = sizeOf(call.inShapes[0])
  const { lines, coords } = unravel('i', [rows, depth], 'o')
  return { source: kernelFn(['x0'], [...lines, `return (x0[${coords[0]}] == ${coords[1]} ? 1.0 : 0.0);`]), size: rows * depth }
}

/** softmaxCrossEntropy (logits, targets) over the last axis: Σ t·(logsumexp(l) − l), zero targets skipped. */
const softmaxCrossEntropy: Gen = (call) => {
  const s = call.inShapes[0]
  const c = s[s.length - 1]
  const body = [
    `const o = i * ${lit(c)};`,
    'let m = -3.4e38;',
    `for (let k = 0; k < ${c}; k++) { m = Math.max(m, x0[o + k]); }`,
    'let e = 0.0;',
    `for (let k = 0; k < ${c}; k++) { e += Math.exp(x0[o + k] - m); }`,
    'const lse = m + Math.log(e);',
    'let s0 = 0.0;',
    `for (let k = 0; k < ${c}; k++) { const t = x1[o + k]; if (t != 0.0) { s0 += t * (lse - x0[o + k]); } }`,
    'return s0;',
  ]
  return { source: kernelFn(['x0', 'x1'], body), size: sizeOf(call.outShape), loop: c }
}

export const convSources: Readonly<Record<string, Gen>> = {
  conv2d: (call, ctx) => conv2dSource(call, 1, ctx)!,
  conv2dBackInput: (call, ctx) => conv2dBackInputSource(call, 1, ctx)!,
  conv2dBackFilter,
  maxPool,
  maxPoolBack,
  maxPoolSelect,
  avgPool,
  avgPoolBack,
  oneHot,
  softmaxCrossEntropy,
}
