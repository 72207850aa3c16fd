/**
 * gpu.js kernel sources, one generator per primitive: each takes a `KernelCall` and returns the text of
 * a kernel function (shapes baked in) that computes one output element per thread. Elementwise ops
 * (and fused chains of them) are generated from their scalar formulas, so a new elementwise primitive
 * needs no entry here.
 */
import { matmulDims } from '../geometry.ts'
import type { FusedStep } from '../../graph/fuse.ts'
import { type Shape, sizeOf, stridesOf } from '../../tensor/shape.ts'
import type { KernelCall } from '../backend.ts'
import {
  broadcastStrides,
  dot,
  type GenCtx,
  type KernelSource,
  kernelFn,
  kernelOf,
  lit,
  readAt,
  threads,
  unravel,
  view3,
} from './codegen.ts'
import { convSources } from './conv.ts'

export type SourceGen = (call: KernelCall, ctx: GenCtx) => KernelSource

/** Reads input `x{j}` of shape `s` at the broadcast position of output coordinates `coords`. */
const broadcastRead = (j: number, s: Shape, out: Shape, coords: readonly string[]): string => {
  if (sizeOf(s) === 1) return `x${j}[0]`
  if (s.length === out.length && s.every((d, i) => d === out[i])) return `x${j}[i]`
  return `x${j}[${dot(coords, broadcastStrides(s, out))}]`
}

/**
 * A fused elementwise body: inputs x0…, then `steps` (JS expressions over `a`, `b`, `c` whose
 * operands name earlier steps `t{k}` or inputs `x{j}`), the last step being the result.
 */
export type { FusedStep }

/**
 * Formulas whose GPU builtins differ from JS: WGSL's pow(a, b) is NaN for a < 0 even at integer b
 * (JS: (−2)³ = −8), and tanh of a large argument may overflow to NaN on some drivers (tanh(±15) is
 * already ±1 in f32).
 */
const GPU_FORMULAS: Readonly<Record<string, string>> = {
  'Math.pow(a, b)': '(a < 0.0 && Math.floor(b) == b ? (Math.floor(b * 0.5) * 2.0 == b ? 1.0 : -1.0) * Math.pow(-a, b) : Math.pow(a, b))',
  'Math.tanh(a)': 'Math.tanh(Math.min(Math.max(a, -15.0), 15.0))',
}

const substitute = (expr: string, args: readonly string[]): string => expr.replace(/\b[abc]\b/g, (v) => `(${args['abc'.indexOf(v)]})`)

/** Coordinates of an input of shape `s` broadcast against output coordinates `coords`. */
const bcastCoords = (s: Shape, out: Shape, coords: readonly string[]): string[] =>
  s.map((d, k) => (d === 1 ? '0.0' : coords[k + out.length - s.length]))

const views = (shapes: readonly Shape[], ctx: GenCtx) => shapes.map((s) => (ctx.big(s) ? view3(s) : undefined))

/** Elementwise kernel for a chain of steps over broadcast inputs (a single op is a one-step chain). */
export const elementwiseSource = (inShapes: readonly Shape[], out: Shape, steps: readonly FusedStep[], ctx: GenCtx): KernelSource => {
  const body = steps.map((st, k) => {
    const e = substitute(
      GPU_FORMULAS[st.expr] ?? st.expr,
      st.args.map((a) => (a.startsWith('x') ? `v${a.slice(1)}` : a)),
    )
    return k === steps.length - 1 ? `return ${e};` : `const t${k} = ${e};`
  })
  const args = inShapes.map((_, j) => `x${j}`)
  if (ctx.big(out)) {
    const t = threads(out, true)
    const reads = inShapes.map(
      (s, j) => `const v${j} = ${sizeOf(s) === 1 ? `x${j}[0]` : readAt(`x${j}`, s, bcastCoords(s, out, t.coords), ctx.big(s))};`,
    )
    return { source: kernelOf(args, t.dims, [...t.lines, ...reads, ...body]), size: sizeOf(out), dims: t.dims, views: views(inShapes, ctx) }
  }
  const needCoords = inShapes.some((s) => sizeOf(s) !== 1 && !(s.length === out.length && s.every((d, i) => d === out[i])))
  const { lines, coords } = needCoords ? unravel('i', out, 'o') : { lines: [], coords: [] }
  const reads = inShapes.map((s, j) => `const v${j} = ${broadcastRead(j, s, out, coords)};`)
  return { source: kernelFn(args, [...lines, ...reads, ...body]), size: sizeOf(out) }
}

const elementwise: SourceGen = (call, ctx) =>
  elementwiseSource(call.inShapes, call.outShape, [{ expr: call.elementwise!.expr, args: call.inShapes.map((_, j) => `x${j}`) }], ctx)

/** Reduced elements one thread handles before a long reduction splits into partial results + a second pass. */
const CHUNK = 1024
/** Longest loop a kernel may run: longer ones stop early on some WebGPU implementations (see reduceBig). */
const LOOP_LIMIT = 65536

/** Accumulation of `v` into `acc`: Kahan-compensated for sums (f32, long reductions), plain for max. */
const accumulate = (isMax: boolean, v: string): string[] =>
  isMax ? [`acc = Math.max(acc, ${v});`] : [`const ky = ${v} - comp;`, 'const kt = acc + ky;', 'comp = (kt - acc) - ky;', 'acc = kt;']
/** max starts from the first element it reduces (WGSL has no −∞ literal, and all-−∞ inputs must give −∞). */
const accInit = (isMax: boolean, first: string): string[] => (isMax ? [`let acc = ${first};`] : ['let acc = 0.0;', 'let comp = 0.0;'])

/**
 * sum / max over `axes`. When the reduced axes form one contiguous block (the usual case: all axes,
 * or trailing/leading ones), element k of an output's reduction sits at `base + k·inner`, and a long
 * block is split into chunks of CHUNK reduced by parallel threads, then a second kernel combines them.
 * Otherwise nested loops walk the reduced axes.
 */
const reduce =
  (isMax: boolean): SourceGen =>
  (call, ctx) => {
    const s = call.inShapes[0]
    const axes = call.attrs.axes as number[]
    const st = stridesOf(s)
    const red = axes.filter((a) => s[a] > 1)
    const out = sizeOf(call.outShape)
    const a0 = red[0]
    const a1 = red[red.length - 1]
    const block = red.length > 0 && s.every((d, a) => a <= a0 || a >= a1 || d === 1 || red.includes(a))
    // scattered axes are nested loops, each as long as its axis: past LOOP_LIMIT they are split as for big tensors
    if (ctx.big(s) || ctx.big(call.outShape) || (!block && red.some((a) => s[a] > LOOP_LIMIT))) return reduceBig(isMax, call, ctx, red)
    if (!block) {
      const kept = s.map((_, i) => i).filter((i) => !axes.includes(i))
      const { lines, coords } = unravel('i', call.outShape, 'o')
      const base0 = dot(
        coords,
        kept.map((a) => st[a]),
      )
      const off =
        [base0, ...red.map((a, k) => (st[a] === 1 ? `r${k}` : `r${k} * ${st[a]}`))].filter((t) => t !== '0.0').join(' + ') || '0.0'
      const body = [
        ...lines,
        ...accInit(isMax, `x0[${base0}]`),
        ...red.map((a, k) => `for (let r${k} = 0; r${k} < ${s[a]}; r${k}++) {`),
        ...accumulate(isMax, `x0[${off}]`),
        ...red.map(() => '}'),
        'return acc;',
      ]
      return { source: kernelFn(['x0'], body), size: out, loop: Math.max(1, ...red.map((a) => s[a])) }
    }
    const r = red.reduce((acc, a) => acc * s[a], 1)
    const inner = sizeOf(s.slice(a1 + 1))
    const outer = out / inner
    const chunks = r > 2 * CHUNK ? Math.ceil(r / CHUNK) : 1
    const { lines, coords } = unravel(chunks > 1 ? 'oq' : 'i', [outer, inner], 'o')
    const split = chunks > 1 ? unravel('i', [out, chunks], 'c') : { lines: [], coords: ['i', '0.0'] }
    const base = dot(coords, [r * inner, 1])
    const len = chunks > 1 ? CHUNK : r
    const k = chunks > 1 ? `${split.coords[1]} * ${lit(CHUNK)} + kk` : 'kk'
    const at = (kx: string) => `x0[${base === '0.0' ? '' : `${base} + `}${kx}${inner === 1 ? '' : ` * ${lit(inner)}`}]`
    const body = [
      ...split.lines,
      ...(chunks > 1 ? [`const oq = ${split.coords[0]};`] : []),
      ...lines,
      ...accInit(isMax, at(chunks > 1 ? `${split.coords[1]} * ${lit(CHUNK)}` : '0.0')),
      `for (let kk = 0; kk < ${len}; kk++) {`,
      ...(chunks > 1 ? [`const k = ${k};`, `if (k < ${lit(r)}) {`] : ['const k = kk;']),
      ...accumulate(isMax, at('k')),
      ...(chunks > 1 ? ['}'] : []),
      '}',
      'return acc;',
    ]
    const first: KernelSource = { source: kernelFn(['x0'], body), size: out * chunks, loop: len }
    if (chunks === 1) return first
    const combine = [
      ...accInit(isMax, `x0[i * ${chunks}]`),
      `for (let c = 0; c < ${chunks}; c++) {`,
      ...accumulate(isMax, `x0[i * ${chunks} + c]`),
      '}',
      'return acc;',
    ]
    return { ...first, next: { source: kernelFn(['x0'], combine), size: out, loop: chunks } }
  }

/**
 * sum / max of a big input, addressed by coordinates: nested loops over the reduced axes, the longest of them split
 * into chunks (partial results + a combine kernel) when one thread would reduce too much. Splitting the longest
 * axis keeps every loop of a thread within the other axes' extents: a loop of more than 65536 iterations stops
 * early on some WebGPU implementations (Dawn over Mesa llvmpipe: a sum over [113, 148471] came out short), and a
 * thread per row of a wide matrix would leave a GPU idle. A long combine is itself a chunked reduction.
 */
const reduceBig = (isMax: boolean, call: KernelCall, ctx: GenCtx, red: readonly number[]): KernelSource => {
  const s = call.inShapes[0]
  const kept = s.map((_, a) => a).filter((a) => !(call.attrs.axes as number[]).includes(a))
  const out = sizeOf(call.outShape)
  const bigOut = ctx.big(call.outShape)
  const r = red.reduce((acc, a) => acc * s[a], 1)
  const sp = red.reduce((best, a, k) => (s[a] > s[red[best]] ? k : best), 0)
  const as = red[sp]
  const per = red.length ? r / s[as] : 1
  const span = red.length ? Math.max(1, Math.floor(CHUNK / per)) : 1
  const chunks = bigOut || !red.length || span >= s[as] ? 1 : Math.ceil(s[as] / span)
  const split = chunks > 1 ? unravel('i', [out, chunks], 'c') : { lines: [], coords: ['i', '0.0'] }
  const t = chunks > 1 ? unravel('oq', call.outShape, 'o') : threads(call.outShape, bigOut)
  const coordsAt = (loop: (a: number, k: number) => string) =>
    s.map((_, a) => {
      const k = red.indexOf(a)
      if (k >= 0) return loop(a, k)
      const j = kept.indexOf(a)
      return j >= 0 ? t.coords[j] : '0.0'
    })
  const start = `${split.coords[1]} * ${lit(span)}`
  const chunked = (k: number) => k === sp && chunks > 1
  const inCoords = coordsAt((_a, k) => (chunked(k) ? `(${start} + r${k})` : `r${k}`))
  const first = coordsAt((_a, k) => (chunked(k) ? start : '0.0'))
  const loops = red.map((a, k) =>
    chunked(k)
      ? `for (let r${k} = 0; r${k} < ${span}; r${k}++) { if (${start} + r${k} < ${lit(s[a])}) {`
      : `for (let r${k} = 0; r${k} < ${s[a]}; r${k}++) {`,
  )
  const body = [
    ...split.lines,
    ...(chunks > 1 ? [`const oq = ${split.coords[0]};`] : []),
    ...t.lines,
    ...accInit(isMax, readAt('x0', s, first, true)),
    ...loops,
    ...accumulate(isMax, readAt('x0', s, inCoords, true)),
    ...loops.map((l) => (l.includes('{ if (') ? '} }' : '}')),
    'return acc;',
  ]
  const dims = chunks > 1 ? undefined : (t as { dims?: number[] }).dims
  const stage: KernelSource = {
    source: kernelOf(['x0'], dims, body),
    size: out * chunks,
    loop: Math.max(1, span, ...red.map((a) => s[a])),
    views: [view3(s)],
    ...(dims ? { dims } : {}),
  }
  if (chunks === 1) return stage
  const combine = reduce(isMax)({ op: call.op, attrs: { axes: [1] }, inShapes: [[out, chunks]], outShape: [out] }, ctx)
  return { ...stage, next: combine }
}

/** A gather: each output element reads input 0 at coordinates computed from its own (exact 3-D when big). */
const gather = (call: KernelCall, ctx: GenCtx, inCoords: (coords: readonly string[]) => string[]): KernelSource => {
  const [s] = call.inShapes
  const t = threads(call.outShape, ctx.big(call.outShape))
  const body = [...t.lines, `return ${readAt('x0', s, inCoords(t.coords), ctx.big(s))};`]
  return {
    source: kernelOf(['x0'], t.dims, body),
    size: sizeOf(call.outShape),
    views: views(call.inShapes, ctx),
    ...(t.dims ? { dims: t.dims } : {}),
  }
}

const transpose: SourceGen = (call, ctx) =>
  gather(call, ctx, (coords) => {
    const perm = call.attrs.perm as number[]
    const c = new Array<string>(perm.length)
    perm.forEach((p, k) => {
      c[p] = coords[k]
    })
    return c
  })

const plus = (c: string, v: number) => (v === 0 ? c : c === '0.0' ? lit(v) : `${c} + ${lit(v)}`)

const slice: SourceGen = (call, ctx) => gather(call, ctx, (coords) => coords.map((c, k) => plus(c, (call.attrs.begin as number[])[k])))

const broadcastTo: SourceGen = (call, ctx) => gather(call, ctx, (coords) => bcastCoords(call.inShapes[0], call.outShape, coords))

const pad: SourceGen = (call, ctx) => {
  const s = call.inShapes[0]
  const pads = call.attrs.pads as [number, number][]
  const t = threads(call.outShape, ctx.big(call.outShape))
  const inside = s.flatMap((d, k) =>
    pads[k][0] === 0 && pads[k][1] === 0 ? [] : [`${t.coords[k]} >= ${lit(pads[k][0])} && ${t.coords[k]} < ${lit(pads[k][0] + d)}`],
  )
  const src = readAt(
    'x0',
    s,
    t.coords.map((c, k) => plus(c, -pads[k][0])),
    ctx.big(s),
  )
  const body = [...t.lines, 'let v = 0.0;', `if (${inside.join(' && ') || 'true'}) { v = ${src}; }`, 'return v;']
  return {
    source: kernelOf(['x0'], t.dims, body),
    size: sizeOf(call.outShape),
    views: views(call.inShapes, ctx),
    ...(t.dims ? { dims: t.dims } : {}),
  }
}

const concat: SourceGen = (call, ctx) => {
  const axis = call.attrs.axis as number
  const out = call.outShape
  const t = threads(out, ctx.big(out))
  const ca = t.coords[axis]
  let off = 0
  const branches = call.inShapes.map((s, j) => {
    // the else-chain implies the lower bound of each input's range along the axis
    const read = `v = ${readAt(
      `x${j}`,
      s,
      t.coords.map((c, k) => (k === axis ? plus(c, -off) : c)),
      ctx.big(s),
    )};`
    off += s[axis]
    return j === 0
      ? `if (${ca} < ${lit(off)}) { ${read} }`
      : j === call.inShapes.length - 1
        ? `else { ${read} }`
        : `else if (${ca} < ${lit(off)}) { ${read} }`
  })
  const body = [...t.lines, 'let v = 0.0;', branches.join(' '), 'return v;']
  return {
    source: kernelOf(
      call.inShapes.map((_, j) => `x${j}`),
      t.dims,
      body,
    ),
    size: sizeOf(out),
    views: views(call.inShapes, ctx),
    ...(t.dims ? { dims: t.dims } : {}),
  }
}

/** One output element per thread; the k loop reads a row of A (broadcast in a workgroup) and a column of B (coalesced). */
const matmul: SourceGen = (call) => {
  const { m, n, k, batch, ai, ap, bp, bj } = matmulDims(call)
  const { lines, coords } = unravel('i', [batch, m, n], 'o')
  const [t, row, col] = coords
  const body = [
    ...lines,
    `const ab = ${dot([t, row], [m * k, ai])};`,
    `const bb = ${dot([t, col], [k * n, bj])};`,
    'let acc = 0.0;',
    `for (let p = 0; p < ${k}; p++) {`,
    `acc += x0[ab + p * ${ap}] * x1[bb + p * ${bp}];`,
    '}',
    'return acc;',
  ]
  return { source: kernelFn(['x0', 'x1'], body), size: batch * m * n, loop: k }
}

/**
 * The WebGPU default: each thread computes 4 adjacent columns of one row (an Array(4) return, which
 * gpu.js stores tightly packed, i.e. already row-major), reading A once per 4 products. The output is
 * 3-D `[n/4, m, batch]`, so gpu.js dispatches 8×8 workgroups: 8 rows × 32 columns share their A and B
 * loads in L1 (gpu.js exposes no workgroup memory), and thread ids need no division. Needs n % 4 = 0.
 */
export const matmulVec4 = (call: KernelCall): KernelSource | undefined => {
  const { m, n, k, batch, ai, ap, bp, bj } = matmulDims(call)
  if (n % 4 !== 0 || batch > 65535) return undefined
  const unroll = k % 4 === 0 ? 4 : 1
  const steps = Array.from({ length: unroll }, (_, u) => [
    `const a${u} = x0[ab + ${u ? `(p + ${u})` : 'p'} * ${ap}];`,
    `const b${u} = bb + ${u ? `(p + ${u})` : 'p'} * ${bp};`,
    ...[0, 1, 2, 3].map((j) => `s${j} += a${u} * x1[b${u}${j ? ` + ${j * bj}` : ''}];`),
  ]).flat()
  const body = [
    'const c4 = this.thread.x;',
    'const row = this.thread.y;',
    `const ab = ${batch > 1 ? `this.thread.z * ${m * k} + ` : ''}row * ${ai};`,
    `const bb = ${batch > 1 ? `this.thread.z * ${k * n} + ` : ''}c4 * ${4 * bj};`,
    'let s0 = 0.0;',
    'let s1 = 0.0;',
    'let s2 = 0.0;',
    'let s3 = 0.0;',
    `for (let p = 0; p < ${k}; p += ${unroll}) {`,
    ...steps,
    '}',
    'return [s0, s1, s2, s3];',
  ]
  const source = `function (x0, x1) {\n  ${body.join('\n  ')}\n}`
  return { source, size: (batch * m * n) / 4, loop: k, vec: 4, dims: batch > 1 ? [n / 4, m, batch] : [n / 4, m] }
}

/** Kernel source generators of the non-elementwise ops, by name (elementwise ones: `sourceFor`). */
export const sources: Readonly<Record<string, SourceGen>> = {
  sum: reduce(false),
  max: reduce(true),
  transpose,
  slice,
  pad,
  concat,
  broadcastTo,
  matmul,
  ...convSources,
}

/** Any op carrying a scalar formula (`call.elementwise`) gets the kernel generated from it; the rest by name. */
export const sourceFor = (call: KernelCall): SourceGen | undefined => (call.elementwise ? elementwise : sources[call.op])
