/**
 * Elementwise chains and contiguous sums on the WASM SIMD runtime. A chain (one op or an executor-fused
 * group) becomes a program for the `ew` interpreter (one SIMD loop per step over 256-element blocks), split
 * over threads by element ranges; formulas without an f32x4 form (exp, log, tanh, pow…) stay on the JS loop.
 * Unlike the JS loop, intermediates of a fused chain round to float32 after every step (exactly what the
 * unfused ops compute); single ops give the same bits either way (one correctly rounded operation).
 */
import type { FusedStep } from '../../../graph/fuse.ts'
import { type Job, OP, type WasmRuntime } from './runtime.ts'
import { upload } from './kernels.ts'

type F = Float32Array

/** Interpreter op codes by formula (the elementwise primitives' `expr` strings). */
const OPCODES: Readonly<Record<string, number>> = {
  'a + b': 1,
  'a - b': 2,
  'a * b': 3,
  'a / b': 4,
  '-a': 5,
  'Math.max(a, 0.0)': 6,
  'Math.sqrt(a)': 7,
  'a * a': 8,
  '1.0 / a': 9,
  'Math.max(a, b)': 10,
  'Math.min(a, b)': 11,
  'Math.abs(a)': 12,
  '(a < b ? 1.0 : 0.0)': 13,
  '(a <= b ? 1.0 : 0.0)': 14,
  '(a > b ? 1.0 : 0.0)': 15,
  '(a >= b ? 1.0 : 0.0)': 16,
  '(a == b ? 1.0 : 0.0)': 17,
  '(a != b ? 1.0 : 0.0)': 18,
  '(a != 0.0 ? b : c)': 19,
  '(a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : 0.0))': 20,
}

/** Whether every step of a chain has an interpreter op. */
export const wasmChain = (steps: readonly FusedStep[]): boolean => steps.every((s) => OPCODES[s.expr] !== undefined)

/** Below this many elements a chain stays on the calling thread. */
const PAR_ELEMS = 1 << 15
const BLOCK = 256

/**
 * Runs `steps` into `out` (a resident block of n floats). `kinds[j]`: f (full), s (scalar) or p (repeating
 * block of `m` floats). Returns false (nothing written) when a step has no interpreter op or out is not resident.
 */
export const ewWasm = (
  rt: WasmRuntime,
  out: F,
  xs: readonly F[],
  kinds: readonly string[],
  m: number,
  steps: readonly FusedStep[],
): boolean => {
  const po = rt.resident(out)
  if (po === undefined || !wasmChain(steps)) return false
  const n = out.length
  const nIn = xs.length
  rt.reset()
  try {
    const prog = rt.alloc((2 + 4 * nIn + 4 * steps.length) * 4)
    const words = new Int32Array(2 + 4 * nIn + 4 * steps.length)
    words[0] = nIn
    words[1] = steps.length
    xs.forEach((x, j) => {
      words[2 + 4 * j] = kinds[j] === 'f' ? 0 : kinds[j] === 's' ? 1 : 2
      words[3 + 4 * j] = upload(rt, x)
      words[4 + 4 * j] = kinds[j] === 'p' ? m : 0
    })
    const operand = (a: string | undefined, fallback: number): number =>
      a === undefined ? fallback : a.startsWith('x') ? Number(a.slice(1)) : nIn + Number(a.slice(1))
    steps.forEach((s, k) => {
      const b = 2 + 4 * nIn + 4 * k
      const a0 = operand(s.args[0], 0)
      words[b] = OPCODES[s.expr]
      words[b + 1] = a0
      words[b + 2] = operand(s.args[1], a0)
      words[b + 3] = operand(s.args[2], a0)
    })
    new Int32Array(rt.f32(prog, words.length).buffer, prog, words.length).set(words)
    const regBytes = rt.exports.ewRegBytes(nIn, steps.length)
    const t = n < PAR_ELEMS ? 1 : rt.threads()
    const step = Math.max(PAR_ELEMS / 2, Math.ceil(n / (t * 3) / BLOCK) * BLOCK)
    const jobs: Job[] = []
    for (let e = 0; e < n; e += step) jobs.push([OP.ew, prog, po, e, Math.min(n, e + step), rt.alloc(regBytes)])
    rt.parallel(jobs)
  } finally {
    rt.reset()
  }
  return true
}

/** Floats per partial sum: fixed (a function of the shape only), so results do not depend on the thread count. */
const PART_ELEMS = 1 << 14

/**
 * Sums x viewed as [outer, r, inner] over r into `out` [outer, inner] (float64 partials over fixed row
 * slices, added in order). Returns false when out is not resident.
 */
export const sumWasm = (rt: WasmRuntime, out: F, x: F, outer: number, r: number, inner: number): boolean => {
  const po = rt.resident(out)
  if (po === undefined) return false
  rt.reset()
  try {
    const px = upload(rt, x)
    const rows = Math.max(1, Math.ceil(PART_ELEMS / inner))
    // inner = 1: the "rows" are single floats of one long run, cut the same way
    const nParts = Math.ceil(r / rows)
    const parts = rt.alloc(outer * nParts * inner * 8)
    const jobs: Job[] = []
    for (let o = 0; o < outer; o++)
      for (let p = 0; p < nParts; p++)
        jobs.push([OP.sumRows, px + o * r * inner * 4, inner, p * rows, Math.min(r, (p + 1) * rows), parts + (o * nParts + p) * inner * 8])
    rt.parallel(jobs)
    const fin: Job[] = []
    for (let o = 0; o < outer; o++) fin.push([OP.sumPartsF64, parts + o * nParts * inner * 8, nParts, inner, po + o * inner * 4, 0, inner])
    rt.parallel(fin)
  } finally {
    rt.reset()
  }
  return true
}
