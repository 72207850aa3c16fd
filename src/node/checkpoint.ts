/**
 * Checkpoints: a tree of host tensors plus JSON metadata, written to a temp file, fsynced and renamed over the
 * target (a crash leaves either the old or the new file, never a torn one), and a loader validated with io-ts.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { isLeft } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { fromData, type HostTensor, isHost } from '../tensor/host.ts'
import { sizeOf } from '../tensor/shape.ts'
import type { Tree } from '../tensor/tree.ts'

const Leaf = t.type({ shape: t.array(t.number), dtype: t.union([t.literal('float32'), t.literal('float64')]), data: t.string })
const Checkpoint = t.type({ format: t.literal('softshare-checkpoint'), version: t.literal(1), meta: t.unknown, tree: t.unknown })

type Encoded = unknown

const encode = (x: unknown): Encoded => {
  if (isHost(x)) {
    const bytes = Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)
    return { shape: [...x.shape], dtype: x.data instanceof Float64Array ? 'float64' : 'float32', data: bytes.toString('base64') }
  }
  if (Array.isArray(x)) return { array: x.map(encode) }
  if (typeof x === 'object' && x !== null) return { record: Object.fromEntries(Object.entries(x).map(([k, v]) => [k, encode(v)])) }
  throw new TypeError(`saveCheckpoint: tree leaves must be host tensors, got ${typeof x}`)
}

const decode = (x: unknown, path: string, file: string): unknown => {
  const o = x as Record<string, unknown>
  if (o && typeof o === 'object' && 'array' in o && Array.isArray(o.array)) return o.array.map((e, i) => decode(e, `${path}[${i}]`, file))
  if (o && typeof o === 'object' && 'record' in o && typeof o.record === 'object' && o.record !== null)
    return Object.fromEntries(Object.entries(o.record).map(([k, v]) => [k, decode(v, `${path}.${k}`, file)]))
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

/** Writes `{ tree, meta }` to `path` atomically (temp file, fsync, rename, fsync of the directory). */
export const saveCheckpoint = (path: string, tree: Tree<HostTensor>, meta: unknown = {}): void => {
  const text = JSON.stringify({ format: 'softshare-checkpoint', version: 1, meta, tree: encode(tree) })
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    unlinkSync(tmp)
    throw e
  }
  closeSync(fd)
  renameSync(tmp, path)
  try {
    const dfd = openSync(dirname(path), 'r')
    fsyncSync(dfd)
    closeSync(dfd)
  } catch {
    // some platforms cannot fsync a directory; the rename itself is still atomic
  }
}

/** Reads a checkpoint written by `saveCheckpoint`; errors name the file and what is wrong. */
export const loadCheckpoint = (path: string): { tree: Tree<HostTensor>; meta: unknown } => {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new Error(`loadCheckpoint: ${path}: ${(e as Error).message}`)
  }
  const c = Checkpoint.decode(json)
  if (isLeft(c)) throw new Error(`loadCheckpoint: ${path}: not a softshare checkpoint (version 1)`)
  return { tree: decode(c.right.tree, '', path) as Tree<HostTensor>, meta: c.right.meta }
}
