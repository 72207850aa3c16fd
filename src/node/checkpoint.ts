/**
 * Checkpoints: any tree of host tensors and plain values (a whole `TrainState`: params, batch-norm state,
 * optimiser state, step, PRNG key, cursor) as a safetensors file. Tensors are named by their tree path
 * (`params.tasks.0.stem.w`); the tree's shape and its non-tensor leaves go into `__metadata__` (`softshare.tree`)
 * with the caller's `meta` (`softshare.meta`), so other tools read the weights and we get the exact tree back.
 * Files of the earlier JSON + base64 format still load.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs'
import { isLeft } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { fromData, type HostTensor, isHost } from '../tensor/host.ts'
import { sizeOf } from '../tensor/shape.ts'
import type { Tree } from '../tensor/tree.ts'
import { readSafetensors, writeSafetensors } from './safetensors.ts'

/** A tree whose leaves are host tensors or JSON values (numbers, strings, booleans, null). */
export type CheckpointTree = Tree<HostTensor | number | string | boolean | null>

type Skeleton = { $t: string } | { $v: unknown } | { $n: string } | { $r: Record<string, Skeleton> } | Skeleton[]

const flatten = (tree: unknown, file: string): { skeleton: Skeleton; tensors: [string, HostTensor][] } => {
  const tensors: [string, HostTensor][] = []
  const rec = (x: unknown, path: (string | number)[]): Skeleton => {
    if (isHost(x)) {
      const name = path.length ? path.join('.') : 'value'
      tensors.push([name, x])
      return { $t: name }
    }
    if (Array.isArray(x)) return x.map((e, i) => rec(e, [...path, i]))
    if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') {
      // JSON has no NaN/Infinity
      if (typeof x === 'number' && !Number.isFinite(x)) return { $n: String(x) }
      return { $v: x }
    }
    if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype)
      return { $r: Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, rec(v, [...path, k])])) }
    throw new TypeError(
      `saveCheckpoint: ${file}: the leaf at ${path.join('.') || '<root>'} is ${x === undefined ? 'undefined' : ((x as object).constructor?.name ?? typeof x)}; ` +
        'leaves must be host tensors (run the state first) or JSON values',
    )
  }
  return { skeleton: rec(tree, []), tensors }
}

const rebuild = (s: Skeleton, tensors: ReadonlyMap<string, HostTensor>, file: string): unknown => {
  if (Array.isArray(s)) return s.map((e) => rebuild(e, tensors, file))
  if ('$t' in s) {
    const t = tensors.get(s.$t)
    if (!t) throw new Error(`loadCheckpoint: ${file}: tensor ${s.$t} is named in softshare.tree but missing from the file`)
    return t
  }
  if ('$v' in s) return s.$v
  if ('$n' in s) return Number(s.$n)
  return Object.fromEntries(Object.entries(s.$r).map(([k, v]) => [k, rebuild(v, tensors, file)]))
}

/** Nests dotted tensor names (`a.b.c`) into records: the tree of a file written by another library. */
const nestByName = (tensors: ReadonlyMap<string, HostTensor>): Record<string, unknown> => {
  const root: Record<string, unknown> = {}
  for (const [name, t] of tensors) {
    const parts = name.split('.')
    let o = root
    for (const p of parts.slice(0, -1)) {
      if (!(p in o) || isHost(o[p])) o[p] = isHost(o[p]) ? { '': o[p] } : {}
      o = o[p] as Record<string, unknown>
    }
    o[parts[parts.length - 1]] = t
  }
  return root
}

/** Writes `tree` (host tensors and JSON leaves) and `meta` to `path` as safetensors, atomically. */
export const saveCheckpoint = (path: string, tree: unknown, meta: unknown = {}): void => {
  const { skeleton, tensors } = flatten(tree, path)
  writeSafetensors(path, tensors, {
    format: 'softshare-checkpoint',
    version: '2',
    'softshare.tree': JSON.stringify(skeleton),
    'softshare.meta': JSON.stringify(meta ?? null),
  })
}

/**
 * Reads a checkpoint: our safetensors files give back the saved tree and meta; safetensors files from other
 * tools give their tensors nested by dotted name, with `__metadata__` as meta; old JSON checkpoints still load.
 */
export const loadCheckpoint = (path: string): { tree: Tree<HostTensor>; meta: unknown } => {
  if (firstByte(path) === 0x7b) return loadLegacy(path)
  let st: ReturnType<typeof readSafetensors>
  try {
    st = readSafetensors(path)
  } catch (e) {
    throw new Error((e as Error).message.replace(/^readSafetensors:/, 'loadCheckpoint:'))
  }
  const { tensors, metadata } = st
  if (metadata.format !== 'softshare-checkpoint') return { tree: nestByName(tensors) as Tree<HostTensor>, meta: metadata }
  let skeleton: Skeleton
  let meta: unknown
  try {
    skeleton = JSON.parse(metadata['softshare.tree'] ?? 'null')
    meta = JSON.parse(metadata['softshare.meta'] ?? 'null')
  } catch (e) {
    throw new Error(`loadCheckpoint: ${path}: softshare.tree / softshare.meta metadata is not JSON (${(e as Error).message})`)
  }
  if (skeleton === null || typeof skeleton !== 'object') throw new Error(`loadCheckpoint: ${path}: softshare.tree metadata is missing`)
  return { tree: rebuild(skeleton, tensors, path) as Tree<HostTensor>, meta }
}

/** Rewrites a checkpoint of the old JSON format (or any readable one) as safetensors at `to`. */
export const convertCheckpoint = (from: string, to: string): void => {
  const { tree, meta } = loadCheckpoint(from)
  saveCheckpoint(to, tree, meta)
}

const firstByte = (path: string): number | undefined => {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    throw new Error(`loadCheckpoint: ${path}: cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  try {
    const b = new Uint8Array(1)
    return readSync(fd, b, 0, 1, 0) === 1 ? b[0] : undefined
  } finally {
    closeSync(fd)
  }
}

// the JSON + base64 format of version 1 (read only)
const Leaf = t.type({ shape: t.array(t.number), dtype: t.union([t.literal('float32'), t.literal('float64')]), data: t.string })
const Legacy = t.type({ format: t.literal('softshare-checkpoint'), version: t.literal(1), meta: t.unknown, tree: t.unknown })

const decodeLegacy = (x: unknown, path: string, file: string): unknown => {
  const o = x as Record<string, unknown>
  if (o && typeof o === 'object' && 'array' in o && Array.isArray(o.array))
    return o.array.map((e, i) => decodeLegacy(e, `${path}[${i}]`, file))
  if (o && typeof o === 'object' && 'record' in o && typeof o.record === 'object' && o.record !== null)
    return Object.fromEntries(Object.entries(o.record).map(([k, v]) => [k, decodeLegacy(v, `${path}.${k}`, file)]))
  const leaf = Leaf.decode(x)
  if (isLeft(leaf)) throw new Error(`loadCheckpoint: ${file}: malformed tensor at ${path || '<root>'}`)
  const { shape, dtype, data } = leaf.right
  const buf = Buffer.from(data, 'base64')
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array
  const n = buf.byteLength / Ctor.BYTES_PER_ELEMENT
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || n !== sizeOf(shape))
    throw new Error(`loadCheckpoint: ${file}: tensor at ${path || '<root>'} has ${n} values for shape [${shape.join(',')}]`)
  // copy into an aligned buffer: base64 decoding may hand back an unaligned slice of a pool
  const arr = new Ctor(n)
  new Uint8Array(arr.buffer).set(buf)
  return fromData(arr, shape)
}

const loadLegacy = (path: string): { tree: Tree<HostTensor>; meta: unknown } => {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new Error(`loadCheckpoint: ${path}: ${(e as Error).message}`)
  }
  const c = Legacy.decode(json)
  if (isLeft(c)) throw new Error(`loadCheckpoint: ${path}: not a softshare checkpoint (version 1)`)
  return { tree: decodeLegacy(c.right.tree, '', path) as Tree<HostTensor>, meta: c.right.meta }
}
