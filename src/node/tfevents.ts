/**
 * TensorBoard event files written by hand: TFRecord framing (u64 length, masked CRC32C of the length, the
 * bytes, masked CRC32C of the bytes) around `Event` protobufs carrying scalar `Summary` values. Just enough
 * protobuf for `tensorboard --logdir OUT` to plot every scalar; the reader is here so tests check the CRCs.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

const crcTable = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[i] = c >>> 0
  }
  return t
})()

/** CRC-32C (Castagnoli), as TFRecord uses. */
export const crc32c = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs do not collide. */
export const maskedCrc32c = (bytes: Uint8Array): number => {
  const c = crc32c(bytes)
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0
}

const varint = (n: number): number[] => {
  const out: number[] = []
  let v = BigInt(n)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}
const lenField = (field: number, bytes: Uint8Array | number[]): number[] => [(field << 3) | 2, ...varint(bytes.length), ...bytes]

/** One `Event` proto: wall_time (1, double), step (2, int64) and either file_version (3) or a summary (5) of scalars. */
export const encodeEvent = (
  wallTime: number,
  step: number,
  what: { fileVersion: string } | { scalars: Readonly<Record<string, number>> },
): Uint8Array => {
  const wt = new Uint8Array(8)
  new DataView(wt.buffer).setFloat64(0, wallTime, true)
  const out: number[] = [(1 << 3) | 1, ...wt, (2 << 3) | 0, ...varint(step)]
  if ('fileVersion' in what) out.push(...lenField(3, [...Buffer.from(what.fileVersion, 'utf8')]))
  else {
    const summary: number[] = []
    for (const [tag, v] of Object.entries(what.scalars)) {
      const f = new Uint8Array(4)
      new DataView(f.buffer).setFloat32(0, v, true)
      // Summary.Value: tag (1, string), simple_value (2, float)
      summary.push(...lenField(1, [...lenField(1, [...Buffer.from(tag, 'utf8')]), (2 << 3) | 5, ...f]))
    }
    out.push(...lenField(5, summary))
  }
  return Uint8Array.from(out)
}

/** Frames one record: u64 LE length, masked CRC32C of those 8 bytes, data, masked CRC32C of the data. */
export const tfrecord = (data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(16 + data.length)
  const dv = new DataView(out.buffer)
  dv.setBigUint64(0, BigInt(data.length), true)
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(data, 12)
  dv.setUint32(12 + data.length, maskedCrc32c(data), true)
  return out
}

/** An open event file in `dir`: `scalars(step, values)` appends one event (flushed to disk per call). */
export interface EventWriter {
  readonly path: string
  scalars(step: number, values: Readonly<Record<string, number>>): void
  close(): void
}

/** Opens `dir/events.out.tfevents.<seconds>.<host>` (TensorBoard's naming) and writes the file-version header. */
export const eventWriter = (dir: string): EventWriter => {
  const now = Date.now() / 1000
  const path = join(dir, `events.out.tfevents.${Math.floor(now)}.${hostname().replace(/[^\w.-]/g, '_')}.${process.pid}`)
  const fd = openSync(path, 'a')
  const put = (bytes: Uint8Array) => {
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off)
  }
  put(tfrecord(encodeEvent(now, 0, { fileVersion: 'brain.Event:2' })))
  return {
    path,
    scalars: (step, values) => {
      const finite = Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'number'))
      put(tfrecord(encodeEvent(Date.now() / 1000, step, { scalars: finite })))
    },
    close: () => {
      fsyncSync(fd)
      closeSync(fd)
    },
  }
}

/** A decoded event: wall time, step, and its file version or scalars. */
export interface DecodedEvent {
  readonly wallTime: number
  readonly step: number
  readonly fileVersion?: string
  readonly scalars: Record<string, number>
}

/** Reads an event file back, checking both CRCs of every record; errors name the file and byte offset. */
export const readEvents = (path: string): DecodedEvent[] => {
  const b = readFileSync(path)
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const events: DecodedEvent[] = []
  let at = 0
  while (at < b.length) {
    if (at + 12 > b.length) throw new Error(`readEvents: ${path}: record header at byte ${at} is truncated`)
    const len = Number(dv.getBigUint64(at, true))
    if (dv.getUint32(at + 8, true) !== maskedCrc32c(b.subarray(at, at + 8)))
      throw new Error(`readEvents: ${path}: bad length CRC at byte ${at}`)
    if (at + 16 + len > b.length) throw new Error(`readEvents: ${path}: record at byte ${at} is truncated`)
    const data = b.subarray(at + 12, at + 12 + len)
    if (dv.getUint32(at + 12 + len, true) !== maskedCrc32c(data)) throw new Error(`readEvents: ${path}: bad data CRC at byte ${at}`)
    events.push(decodeEvent(data))
    at += 16 + len
  }
  return events
}

const readVarint = (b: Uint8Array, at: number): [number, number] => {
  let v = 0n
  let shift = 0n
  for (;;) {
    const x = b[at++]
    v |= BigInt(x & 0x7f) << shift
    shift += 7n
    if (!(x & 0x80)) return [Number(v), at]
  }
}

/** Walks protobuf fields: (field, wire type, value or bytes). */
const fields = (b: Uint8Array): [number, number, number | Uint8Array][] => {
  const out: [number, number, number | Uint8Array][] = []
  let at = 0
  while (at < b.length) {
    const [key, a1] = readVarint(b, at)
    at = a1
    const f = key >>> 3
    const w = key & 7
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
    if (w === 0) {
      const [v, a2] = readVarint(b, at)
      out.push([f, w, v])
      at = a2
    } else if (w === 1) {
      out.push([f, w, dv.getFloat64(at, true)])
      at += 8
    } else if (w === 5) {
      out.push([f, w, dv.getFloat32(at, true)])
      at += 4
    } else if (w === 2) {
      const [len, a2] = readVarint(b, at)
      out.push([f, w, b.subarray(a2, a2 + len)])
      at = a2 + len
    } else throw new Error(`readEvents: unsupported protobuf wire type ${w}`)
  }
  return out
}

const decodeEvent = (data: Uint8Array): DecodedEvent => {
  let wallTime = 0
  let step = 0
  let fileVersion: string | undefined
  const scalars: Record<string, number> = {}
  for (const [f, , v] of fields(data)) {
    if (f === 1) wallTime = v as number
    else if (f === 2) step = v as number
    else if (f === 3) fileVersion = Buffer.from(v as Uint8Array).toString('utf8')
    else if (f === 5)
      for (const [vf, , value] of fields(v as Uint8Array)) {
        if (vf !== 1) continue
        let tag = ''
        let x = Number.NaN
        for (const [ff, , fv] of fields(value as Uint8Array)) {
          if (ff === 1) tag = Buffer.from(fv as Uint8Array).toString('utf8')
          if (ff === 2) x = fv as number
        }
        scalars[tag] = x
      }
  }
  return { wallTime, step, ...(fileVersion === undefined ? {} : { fileVersion }), scalars }
}
