/**
 * safetensors files (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes
 * of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }`, then the
 * data. Writes stream tensor by tensor (no whole-file buffer or string: a 1 GB file needs no 1 GB string) into a
 * temp file in the same directory, fsync, rename, fsync of the directory; a sha256 of the data goes into
 * `__metadata__.sha256` and is checked on read. Reads accept files written by other libraries (any dtype below,
 * converted to float32 unless F32/F64).
 */
import { createHash } from 'node:crypto'
import { closeSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fromData, type HostTensor } from '../tensor/host.ts'

/** Headers above this size are refused (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000

const dtypeBytes: Readonly<Record<string, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 }

/** One named tensor of a safetensors file. */
export interface NamedTensors {
  readonly tensors: ReadonlyMap<string, HostTensor>
  readonly metadata: Readonly<Record<string, string>>
}

const bytesOf = (t: HostTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)

/** Our temp files: `.NAME.tmp-PID-SUFFIX`. */
const tempPattern = /^\..+\.tmp-(\d+)-[a-z0-9]+$/

/** Removes temp files in `path`'s folder left by saves that crashed (their writer's process is gone). */
const cleanStaleTemps = (path: string): void => {
  const dir = dirname(path)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) {
    const m = tempPattern.exec(n)
    // a save in progress in a live process (this one included) is not stale
    if (!m || alive(Number(m[1]))) continue
    try {
      unlinkSync(join(dir, n))
    } catch {
      // another cleaner got there first
    }
  }
}

/** Whether a process id is running (EPERM: it exists but belongs to someone else). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** fsyncs a directory so a rename inside it survives a power cut; some platforms cannot, the rename stays atomic. */
export const fsyncDir = (dir: string): void => {
  try {
    const dfd = openSync(dir, 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // not supported here (e.g. Windows)
  }
}

/**
 * Writes `bytes` (produced chunk by chunk by `produce`) to `path` atomically: temp file `.NAME.tmp-PID-N` in the
 * same directory, fsync, rename over `path`, fsync of the directory. Stale temp files of `path` are removed first.
 */
export const atomicWrite = (path: string, produce: (write: (chunk: Uint8Array) => void) => void): void => {
  cleanStaleTemps(path)
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
  )
  const fd = openSync(tmp, 'wx')
  try {
    produce((chunk) => {
      let off = 0
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off)
    })
    fsyncSync(fd)
    closeSync(fd)
  } catch (e) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    unlinkSync(tmp)
    throw e
  }
  renameSync(tmp, path)
  fsyncDir(dirname(path))
}

/** Writes named float32/float64 tensors and string metadata as a safetensors file (sha256 of the data added as `sha256`). */
export const writeSafetensors = (
  path: string,
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Record<string, string> = {},
): void => {
  const list = [...tensors]
  const header: Record<string, unknown> = {}
  const hash = createHash('sha256')
  let offset = 0
  const seen = new Set<string>()
  for (const [name, t] of list) {
    if (name === '__metadata__' || name === '' || seen.has(name))
      throw new Error(
        `writeSafetensors: ${path}: tensor name ${JSON.stringify(name)} is ${name === '' ? 'empty' : seen.has(name) ? 'used twice' : 'reserved'}`,
      )
    seen.add(name)
    const dtype = t.data instanceof Float64Array ? 'F64' : t.data instanceof Float32Array ? 'F32' : undefined
    if (!dtype) throw new TypeError(`writeSafetensors: ${path}: tensor ${name} must hold a Float32Array or Float64Array`)
    const b = bytesOf(t)
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + b.byteLength] }
    hash.update(b)
    offset += b.byteLength
  }
  header.__metadata__ = { ...metadata, sha256: hash.digest('hex') }
  let json = JSON.stringify(header)
  // the spec allows trailing spaces; padding to 8 bytes keeps the data aligned for readers that map the file
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8)
  const head = Buffer.from(json, 'utf8')
  if (head.byteLength > MAX_HEADER_BYTES)
    throw new Error(`writeSafetensors: ${path}: header of ${head.byteLength} bytes exceeds ${MAX_HEADER_BYTES}`)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(head.byteLength))
  atomicWrite(path, (write) => {
    write(len)
    write(head)
    for (const [, t] of list) {
      const b = bytesOf(t)
      // 64 MB slices keep each write call bounded
      for (let s = 0; s < b.byteLength; s += 1 << 26) write(b.subarray(s, Math.min(b.byteLength, s + (1 << 26))))
    }
  })
}

const fail = (path: string, msg: string): never => {
  throw new Error(`readSafetensors: ${path}: ${msg}`)
}

const readExactly = (fd: number, into: Uint8Array, position: number, path: string, what: string): void => {
  let off = 0
  while (off < into.byteLength) {
    const n = readSync(fd, into, off, into.byteLength - off, position + off)
    if (n === 0) fail(path, `file ends inside ${what}`)
    off += n
  }
}

const halfToFloat = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * 2 ** -14 * (f / 1024)
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY
  return s * 2 ** (e - 15) * (1 + f / 1024)
}

/** Turns raw little-endian bytes of a safetensors dtype into a float32 (or float64 for F64) array. */
const decodeData = (dtype: string, raw: Uint8Array, n: number): Float32Array | Float64Array => {
  // raw is a fresh, aligned buffer of exactly n elements
  const buf = raw.buffer as ArrayBuffer
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf, 0, n)
    case 'F32':
      return new Float32Array(buf, 0, n)
    case 'F16':
      return Float32Array.from(new Uint16Array(buf, 0, n), halfToFloat)
    case 'BF16': {
      const out = new Float32Array(n)
      const u = new Uint32Array(out.buffer)
      const h = new Uint16Array(buf, 0, n)
      for (let i = 0; i < n; i++) u[i] = h[i] << 16
      return out
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf, 0, n), (v) => Number(v))
    case 'I32':
      return Float32Array.from(new Int32Array(buf, 0, n))
    case 'I16':
      return Float32Array.from(new Int16Array(buf, 0, n))
    case 'I8':
      return Float32Array.from(new Int8Array(buf, 0, n))
    default: // U8, BOOL
      return Float32Array.from(new Uint8Array(buf, 0, n))
  }
}

/**
 * Reads a safetensors file: every range checked (inside the file, no overlaps, no holes, sizes matching
 * dtype×shape), the sha256 in `__metadata__` (when present) checked against the data. Errors name the file.
 */
export const readSafetensors = (path: string): NamedTensors => {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    return fail(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  try {
    const size = fstatSync(fd).size
    if (size < 8) fail(path, `${size} bytes is too short for a safetensors file (8-byte header length missing)`)
    const lenBytes = new Uint8Array(8)
    readExactly(fd, lenBytes, 0, path, 'the header length')
    const n = Buffer.from(lenBytes).readBigUInt64LE()
    if (n > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`)
    if (Number(n) + 8 > size) fail(path, `header length ${n} runs past the end of the ${size}-byte file (truncated?)`)
    const head = new Uint8Array(Number(n))
    readExactly(fd, head, 8, path, 'the header')
    let header: unknown
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head))
    } catch (e) {
      return fail(path, `header is not valid UTF-8 JSON (${(e as Error).message})`)
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail(path, 'header is not a JSON object')
    const h = header as Record<string, unknown>
    const metadata: Record<string, string> = {}
    if (h.__metadata__ !== undefined) {
      const m = h.__metadata__
      if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(path, '__metadata__ must be an object of strings')
      for (const [k, v] of Object.entries(m as object)) {
        if (typeof v !== 'string') fail(path, `__metadata__.${k} must be a string, got ${JSON.stringify(v)}`)
        metadata[k] = v
      }
    }
    const dataStart = 8 + Number(n)
    const dataLen = size - dataStart
    const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = []
    for (const [name, v] of Object.entries(h)) {
      if (name === '__metadata__') continue
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
      if (typeof e !== 'object' || e === null) fail(path, `tensor ${name}: expected { dtype, shape, data_offsets }`)
      if (typeof e.dtype !== 'string' || !(e.dtype in dtypeBytes))
        fail(path, `tensor ${name}: unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(dtypeBytes).join(', ')})`)
      const shape = e.shape
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        fail(path, `tensor ${name}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`)
      const off = e.data_offsets
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1])
        fail(path, `tensor ${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(off)}`)
      const [begin, end] = off as number[]
      const numel = (shape as number[]).reduce((a, d) => a * d, 1)
      const bytes = numel * dtypeBytes[e.dtype as string]
      if (end - begin !== bytes)
        fail(path, `tensor ${name}: ${end - begin} bytes for ${e.dtype} shape [${(shape as number[]).join(',')}] (expected ${bytes})`)
      if (end > dataLen) fail(path, `tensor ${name}: data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes (truncated?)`)
      entries.push({ name, dtype: e.dtype as string, shape: shape as number[], begin, end })
    }
    const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)
    let at = 0
    for (const e of sorted) {
      if (e.begin < at) fail(path, `tensor ${e.name}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor's (ending at ${at})`)
      if (e.begin > at) fail(path, `bytes ${at}..${e.begin} of the data belong to no tensor (the data must have no holes)`)
      at = e.end
    }
    if (at !== dataLen) fail(path, `the data holds ${dataLen} bytes but the tensors cover ${at} (extra bytes at the end)`)
    const hash = createHash('sha256')
    const tensors = new Map<string, HostTensor>()
    const raws = new Map<string, Uint8Array>()
    for (const e of sorted) {
      const raw = new Uint8Array(e.end - e.begin)
      readExactly(fd, raw, dataStart + e.begin, path, `tensor ${e.name}`)
      hash.update(raw)
      raws.set(e.name, raw)
    }
    if (metadata.sha256 !== undefined) {
      const got = hash.digest('hex')
      if (got !== metadata.sha256)
        fail(path, `data is corrupted: sha256 ${got} does not match the ${metadata.sha256} recorded when it was written`)
    }
    // header order, as written
    for (const e of entries) {
      const numel = e.shape.reduce((a, d) => a * d, 1)
      tensors.set(e.name, fromData(decodeData(e.dtype, raws.get(e.name) as Uint8Array, numel), e.shape))
    }
    return { tensors, metadata }
  } finally {
    closeSync(fd)
  }
}
