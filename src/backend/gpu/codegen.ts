/**
 * Source-text helpers for gpu.js kernels. Every kernel is generated as the text of a plain `function`
 * with all shapes baked in as literals (gpu.js compiles source text; literals let it unroll nothing
 * and type everything as f32/i32), one thread per output element over a flat 1-D output.
 *
 * Index arithmetic runs in f32 on WebGPU (gpu.js lowers `/` and `%` to float), and WGSL's f32 division
 * may be off by 2.5 ulp, so `floor(i / d)` alone can be off by one; `divmod` corrects the quotient with
 * an exact integer remainder check. All values stay exact below 2^24, which `MAX_ELEMENTS` enforces.
 */
import { fmt, type Shape, sizeOf, stridesOf } from '../../tensor/shape.ts'

/** Largest tensor the gpu backend indexes exactly (f32 integers). */
export const MAX_ELEMENTS = 1 << 24

/** A float literal gpu.js types as Number (never as an integer literal). */
export const lit = (v: number): string => {
  if (v === Number.POSITIVE_INFINITY) return '3.4e38'
  if (v === Number.NEGATIVE_INFINITY) return '-3.4e38'
  const s = String(v)
  return /[.e]/.test(s) ? s : `${s}.0`
}

/**
 * Lines that split the flat index `src` into coordinates `${p}0 … ${p}{r-1}` of `shape` (row-major).
 * Coordinates of size-1 axes are the literal 0 and cost nothing.
 */
export const unravel = (src: string, shape: Shape, p: string): { lines: string[]; coords: string[] } => {
  const lines: string[] = []
  const coords: string[] = shape.map(() => '0.0')
  let rest = src
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]
    if (n === 1) continue
    const outer = shape.slice(0, d).reduce((a, b) => a * b, 1)
    if (outer === 1) {
      coords[d] = rest
      break
    }
    const q = `${p}q${d}`
    const c = `${p}${d}`
    lines.push(
      `let ${q} = Math.floor((${rest} + 0.5) / ${lit(n)});`,
      `let ${c} = ${rest} - ${q} * ${lit(n)};`,
      `if (${c} < 0.0) { ${q} = ${q} - 1.0; ${c} = ${c} + ${lit(n)}; }`,
      `if (${c} >= ${lit(n)}) { ${q} = ${q} + 1.0; ${c} = ${c} - ${lit(n)}; }`,
    )
    coords[d] = c
    rest = q
  }
  return { lines, coords }
}

/** Σ coord·stride as source text (terms with stride 0 or coordinate 0 dropped). */
export const dot = (coords: readonly string[], strides: readonly number[], base = 0): string => {
  const terms = coords.flatMap((c, i) =>
    strides[i] === 0 || c === '0.0' ? [] : [strides[i] === 1 ? c : `${/^[\w.]+$/.test(c) ? c : `(${c})`} * ${lit(strides[i])}`],
  )
  if (base !== 0) terms.unshift(lit(base))
  return terms.length ? terms.join(' + ') : '0.0'
}

/** Strides of `inShape` broadcast against `outShape` (0 on broadcast axes). */
export const broadcastStrides = (inShape: Shape, outShape: Shape): number[] => {
  const s = stridesOf(inShape)
  const lead = outShape.length - inShape.length
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]))
}

/**
 * Large tensors (beyond `MAX_ELEMENTS`, or a lower test threshold) are addressed exactly: a kernel reads
 * them as `x[z][y][x]` over the 3-D view [X, Y, Z] = [last axis, second-last, product of the rest],
 * which gpu.js flattens in i32; every coordinate stays an exact f32 integer. Outputs that large are
 * computed on a 3-D dispatch over the same view, so thread coordinates need no division either.
 */
export const view3 = (s: Shape): [number, number, number] => [s[s.length - 1] ?? 1, s[s.length - 2] ?? 1, sizeOf(s.slice(0, -2))]

/** Which shapes a kernel must address exactly (3-D); vec4 picks the 4-outputs-per-thread variants. */
export interface GenCtx {
  readonly big: (s: Shape) => boolean
  readonly vec4: boolean
}

const tooBig = (s: Shape, why: string) => new Error(`gpu backend: tensor ${fmt(s)} is too large to address exactly: ${why}`)

/** Reads `name` (a tensor of shape `s`) at per-axis coordinates: a flat offset, or exact z/y/x when `big`. */
export const readAt = (name: string, s: Shape, coords: readonly string[], big: boolean): string => {
  if (!big) return `${name}[${dot(coords, stridesOf(s))}]`
  const r = s.length
  if (r < 2) throw tooBig(s, 'a 1-D tensor has no 3-D view (reshape it to rank ≥ 2)')
  const z = dot(coords.slice(0, r - 2), stridesOf(s.slice(0, r - 2)))
  return `${name}[${z}][${coords[r - 2]}][${coords[r - 1]}]`
}

/** The 3-D dispatch limits of gpu.js kernels (8×8×1 workgroups, 65535 workgroups per dimension). */
const MAX_XY = 65535 * 8
const MAX_Z = 65535

/**
 * The output coordinates of this thread: from the flat index `i` (kernelFn declares it), or, for a big
 * output, from a 3-D dispatch over its view (`dims`, with the prologue in `lines`).
 */
export const threads = (out: Shape, big: boolean): { lines: string[]; coords: string[]; dims?: number[] } => {
  if (!big) return unravel('i', out, 'o')
  const [x, y, z] = view3(out)
  if (out.length < 2) throw tooBig(out, 'a 1-D output has no 3-D view')
  if (x > MAX_XY || y > MAX_XY || z > MAX_Z)
    throw tooBig(out, `its view ${x}×${y}×${z} exceeds the dispatch limits ${MAX_XY}×${MAX_XY}×${MAX_Z}`)
  const u = unravel('tz', out.slice(0, -2), 'z')
  return {
    lines: ['const tx = this.thread.x;', 'const ty = this.thread.y;', 'const tz = this.thread.z;', ...u.lines],
    coords: [...u.coords, 'ty', 'tx'],
    dims: [x, y, z],
  }
}

/** A kernel function over `args`: flat kernels get `i`, 3-D ones (with `dims`) bring their own prologue. */
export const kernelOf = (args: readonly string[], dims: readonly number[] | undefined, body: readonly string[]): string =>
  dims ? `function (${args.join(', ')}) {\n  ${body.join('\n  ')}\n}` : kernelFn(args, body)

/** A kernel's generated source plus the flat output size. */
export interface KernelSource {
  readonly source: string
  readonly size: number
  /** Longest loop in the body (gpu.js caps loops at loopMaxIterations). */
  readonly loop?: number
  /** Outputs per thread (Array(4) returns): the tiled matmul on WebGPU. */
  readonly vec?: 1 | 4
  /** gpu.js output dimensions (x fastest) when the kernel uses this.thread.y/z; default [size]. */
  readonly dims?: readonly number[]
  /** Per argument, the 3-D view it is read through (undefined: flat). */
  readonly views?: readonly (readonly number[] | undefined)[]
  /** A follow-up kernel over this one's output (e.g. adding split-K partial sums); its result is the op's. */
  readonly next?: KernelSource
}

/** Wraps body lines into a kernel function over the named arguments. */
export const kernelFn = (args: readonly string[], body: readonly string[]): string =>
  `function (${args.join(', ')}) {\n  const i = this.thread.x;\n  ${body.join('\n  ')}\n}`
