import { fromData, type HostTensor } from './host.ts'
import { type Shape, sizeOf } from './shape.ts'

/**
 * Explicit, splittable PRNG keys (JAX style). A key is two uint32 words; every draw is a pure function
 * of (key, index) through a counter-based integer hash, so results are identical on every backend,
 * platform and thread split.
 */
export type Key = readonly [number, number] & { readonly __key: true }

const mk = (a: number, b: number): Key => [a >>> 0, b >>> 0] as unknown as Key

// murmur3 fmix32 finaliser: a bijective avalanche on uint32
const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** 2x32 -> 32 hash of (key, counter); two rounds mixing both key words. */
const bits = (k: Key, i: number, stream: number): number => {
  let h = fmix((k[0] ^ Math.imul(i + 1, 0x9e3779b9) ^ stream) >>> 0)
  h = fmix((h ^ k[1] ^ Math.imul(stream + 0x632be5ab, 0x85ebca77)) >>> 0)
  return fmix((h + Math.imul(i, 0x27d4eb2f)) >>> 0)
}

/** Throws unless `k` is a key (two uint32 words): a plain number would otherwise read as [undefined, undefined]. */
const checkKey = (op: string, k: Key): void => {
  if (!Array.isArray(k) || k.length !== 2 || !k.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    const got = typeof k === 'number' ? `the number ${k} (make a key with key(${k}))` : JSON.stringify(k)
    throw new TypeError(`${op}: key must be a PRNG key (two uint32 words, from key(seed) or split), got ${got}`)
  }
}

/** A key from an integer seed. */
export const key = (seed: number): Key => {
  if (!Number.isInteger(seed)) throw new TypeError(`key: seed must be an integer, got ${seed}`)
  return mk(fmix(seed >>> 0), fmix(Math.floor(seed / 2 ** 32) ^ 0x5bd1e995))
}

/** `n` independent keys derived from `k` (default 2). */
export const split = (k: Key, n = 2): Key[] => {
  checkKey('split', k)
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`split: n must be a non-negative integer, got ${n}`)
  return Array.from({ length: n }, (_, i) => mk(bits(k, i, 0x1234567), bits(k, i, 0x7654321)))
}

/** Folds an integer (e.g. a step number) into a key. */
export const foldIn = (k: Key, data: number): Key => {
  checkKey('foldIn', k)
  if (!Number.isInteger(data)) throw new TypeError(`foldIn: data must be an integer, got ${data}`)
  return mk(bits(k, data, 0xabcdef), bits(k, data, 0xfedcba))
}

/** Raw uniform uint32 draws as float64 in [0, 1). */
export const uniformArray = (k: Key, n: number, op = 'uniformArray'): Float64Array => {
  checkKey(op, k)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = bits(k, i, 0x2545f491) / 4294967296
  return out
}

/** Uniform float32 tensor in [lo, hi). */
export const uniform = (k: Key, shape: Shape, lo = 0, hi = 1): HostTensor => {
  const u = uniformArray(k, sizeOf(shape), 'uniform')
  const out = new Float32Array(u.length)
  for (let i = 0; i < u.length; i++) out[i] = lo + (hi - lo) * u[i]
  return fromData(out, shape)
}

/** Standard normal draws (Box-Muller) as float64. */
export const normalArray = (k: Key, n: number, op = 'normalArray'): Float64Array => {
  checkKey(op, k)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i += 2) {
    const u1 = (bits(k, i, 0x68e31da4) + 1) / 4294967297 // (0, 1]
    const u2 = bits(k, i + 1, 0x68e31da4) / 4294967296
    const r = Math.sqrt(-2 * Math.log(u1))
    out[i] = r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
  }
  return out
}

/** Normal float32 tensor with mean and standard deviation. */
export const normal = (k: Key, shape: Shape, mean = 0, std = 1): HostTensor => {
  const z = normalArray(k, sizeOf(shape), 'normal')
  const out = new Float32Array(z.length)
  for (let i = 0; i < z.length; i++) out[i] = mean + std * z[i]
  return fromData(out, shape)
}

/** A permutation of 0..n-1 (Fisher-Yates driven by the key). */
export const permutation = (k: Key, n: number): number[] => {
  const p = Array.from({ length: n }, (_, i) => i)
  const u = uniformArray(k, n, 'permutation')
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1))
    ;[p[i], p[j]] = [p[j], p[i]]
  }
  return p
}
