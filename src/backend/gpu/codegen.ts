/**
 * Source-text helpers for gpu.js kernels. Every kernel is generated as the text of a plain `function`
 * with all shapes baked in as literals (gpu.js compiles source text; literals let it unroll nothing
 * and type everything as f32/i32), one thread per output element over a flat 1-D output.
 *
 * Index arithmetic runs in f32 on WebGPU (gpu.js lowers `/` and `%` to float), and WGSL's f32 division
 * may be off by 2.5 ulp, so `floor(i / d)` alone can be off by one; `divmod` corrects the quotient with
 * an exact integer remainder check. All values stay exact below 2^24, which `MAX_ELEMENTS` enforces.
 */
import { type Shape, stridesOf } from '../../tensor/shape.ts'

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
  const terms = coords.flatMap((c, i) => (strides[i] === 0 || c === '0.0' ? [] : [strides[i] === 1 ? c : `${c} * ${lit(strides[i])}`]))
  if (base !== 0) terms.unshift(lit(base))
  return terms.length ? terms.join(' + ') : '0.0'
}

/** Strides of `inShape` broadcast against `outShape` (0 on broadcast axes). */
export const broadcastStrides = (inShape: Shape, outShape: Shape): number[] => {
  const s = stridesOf(inShape)
  const lead = outShape.length - inShape.length
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]))
}

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
  /** A follow-up kernel over this one's output (e.g. adding split-K partial sums); its result is the op's. */
  readonly next?: KernelSource
}

/** Wraps body lines into a kernel function over the named arguments. */
export const kernelFn = (args: readonly string[], body: readonly string[]): string =>
  `function (${args.join(', ')}) {\n  const i = this.thread.x;\n  ${body.join('\n  ')}\n}`
