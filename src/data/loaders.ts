/**
 * Parsers for the real data formats, so the synthetic sets can be swapped for 300-W (landmarks, `.pts`) and
 * an LSEMSW-style list (`path,label`). Parsing is pure (text in, `Either` out) and every error names the file
 * and line; reading from disk lives in `src/node/loaders.ts` (the `softshare/node` entry).
 */
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { expressionNames, NUM_EXPRESSIONS } from './face-model.ts'

/** `.pts` header: `version: 1`, `n_points: N`. */
export const PtsHeader = t.type({ version: t.literal(1), n_points: t.refinement(t.Int, (n) => n > 0, 'PositiveInt') })
export type PtsHeader = t.TypeOf<typeof PtsHeader>

/** A class given as its name (case-insensitive, e.g. `Happy`) or its index `0`..`12`, decoded to the index. */
export const ExpressionLabel = new t.Type<number, string, unknown>(
  'ExpressionLabel',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u < NUM_EXPRESSIONS,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected a string')
    const s = u.trim().toLowerCase()
    const named = (expressionNames as readonly string[]).indexOf(s)
    if (named >= 0) return t.success(named)
    if (/^\d+$/.test(s) && Number(s) < NUM_EXPRESSIONS) return t.success(Number(s))
    return t.failure(u, c, `expected one of ${expressionNames.join(', ')} or an index 0..${NUM_EXPRESSIONS - 1}`)
  },
  (n) => expressionNames[n],
)

const firstError = (errors: t.Errors): string => errors[0]?.message ?? 'invalid value'

/**
 * Parses a 300-W `.pts` file: `version: 1`, `n_points: N`, `{`, N lines `x y`, `}`. Points come back as
 * [x0, y0, x1, y1, ...] in the file's pixel units; `expectPoints` (default 68) rejects other layouts.
 */
export const parsePts = (text: string, file: string, expectPoints: number | null = 68): Either<string, Float64Array> => {
  const lines = text.split(/\r?\n/)
  // an error at the end of the file points at its last line
  const at = (i: number, msg: string): Either<string, never> => left(`${file}:${Math.min(i + 1, lines.length)}: ${msg}`)
  let i = 0
  const next = (): number => {
    while (i < lines.length && (lines[i].trim() === '' || lines[i].trim().startsWith('//'))) i++
    return i
  }
  const header: Record<string, unknown> = {}
  for (const field of ['version', 'n_points']) {
    const n = next()
    const m = /^\s*([a-z_]+)\s*:\s*(\S+)\s*$/.exec(lines[n] ?? '')
    if (!m || m[1] !== field) return at(n, `expected '${field}: <number>', got ${JSON.stringify(lines[n] ?? '(end of file)')}`)
    header[field] = Number(m[2])
    const h = t.partial(PtsHeader.props).decode(header)
    if (isLeft(h))
      return at(n, `invalid ${field} ${JSON.stringify(m[2])}: ${field === 'version' ? 'expected 1' : 'expected a positive integer'}`)
    i++
  }
  const count = header.n_points as number
  if (expectPoints !== null && count !== expectPoints)
    return at(i - 1, `n_points is ${count}, expected ${expectPoints} (the 68-point iBUG layout)`)
  if ((lines[next()] ?? '').trim() !== '{') return at(i, `expected '{', got ${JSON.stringify(lines[i] ?? '(end of file)')}`)
  i++
  const pts = new Float64Array(2 * count)
  for (let p = 0; p < count; p++) {
    const n = next()
    const line = (lines[n] ?? '').trim()
    if (n >= lines.length || line === '}') return at(n, `expected ${count} points, found ${p}`)
    const parts = line.split(/\s+/)
    const [x, y] = parts.map(Number)
    if (parts.length !== 2 || !Number.isFinite(x) || !Number.isFinite(y))
      return at(n, `point ${p}: expected two numbers 'x y', got ${JSON.stringify(line)}`)
    pts[2 * p] = x
    pts[2 * p + 1] = y
    i++
  }
  const close = next()
  if ((lines[close] ?? '').trim() !== '}')
    return at(close, `expected '}' after ${count} points, got ${JSON.stringify(lines[close] ?? '(end of file)')}`)
  i++
  if (next() < lines.length) return at(i, `unexpected text after '}': ${JSON.stringify(lines[i])}`)
  return right(pts)
}

/** Formats points [x0, y0, ...] as a `.pts` file (the inverse of `parsePts`). */
export const formatPts = (pts: ArrayLike<number>): string => {
  const rows: string[] = []
  for (let p = 0; p + 1 < pts.length; p += 2) rows.push(`${pts[p]} ${pts[p + 1]}`)
  return `version: 1\nn_points: ${rows.length}\n{\n${rows.join('\n')}\n}\n`
}

/** One entry of a labelled image list. */
export interface LabelledPath {
  path: string
  label: number
}

/**
 * Parses an LSEMSW-style list: one `path,label` per line, label a class name or index (see `ExpressionLabel`);
 * an optional `path,label` header, blank lines and `#` comments are skipped. Paths are returned as written.
 */
export const parseLabelList = (text: string, file: string): Either<string, LabelledPath[]> => {
  const out: LabelledPath[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    if (out.length === 0 && /^path\s*,\s*label$/i.test(line)) continue
    const comma = line.lastIndexOf(',')
    if (comma <= 0) return left(`${file}:${i + 1}: expected 'path,label', got ${JSON.stringify(line)}`)
    const path = line
      .slice(0, comma)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    const raw = line.slice(comma + 1).trim()
    const label = ExpressionLabel.decode(raw)
    if (isLeft(label)) return left(`${file}:${i + 1}: invalid label ${JSON.stringify(raw)}: ${firstError(label.left)}`)
    out.push({ path, label: label.right })
  }
  if (out.length === 0) return left(`${file}: no 'path,label' entries`)
  return right(out)
}

// keyed by the type byte: 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double
const idxTypes: Readonly<Record<number, { name: string; bytes: number; get: (v: DataView, at: number) => number }>> = {
  8: { name: 'unsigned byte', bytes: 1, get: (v, at) => v.getUint8(at) },
  9: { name: 'signed byte', bytes: 1, get: (v, at) => v.getInt8(at) },
  11: { name: 'short', bytes: 2, get: (v, at) => v.getInt16(at) },
  12: { name: 'int', bytes: 4, get: (v, at) => v.getInt32(at) },
  13: { name: 'float', bytes: 4, get: (v, at) => v.getFloat32(at) },
  14: { name: 'double', bytes: 8, get: (v, at) => v.getFloat64(at) },
}

/**
 * Parses IDX bytes (MNIST's format: two zero bytes, a type code, the number of dimensions, big-endian u32
 * sizes, then big-endian values). Errors name the file, the byte offset and what was expected.
 */
export const parseIdx = (b: Uint8Array, file: string): Either<string, { dims: number[]; data: Float32Array }> => {
  if (b.length < 4) return left(`${file}: ${b.length} bytes is too short for an IDX file (it needs a 4-byte magic number)`)
  if (b[0] !== 0 || b[1] !== 0)
    return left(
      `${file}: not an IDX file: it starts with bytes ${b[0].toString(16).padStart(2, '0')} ${b[1].toString(16).padStart(2, '0')}, not 00 00`,
    )
  const type = idxTypes[b[2]]
  if (!type)
    return left(`${file}: byte 2: unknown IDX value type 0x${b[2].toString(16).padStart(2, '0')} (expected 08, 09, 0b, 0c, 0d or 0e)`)
  const nd = b[3]
  if (nd === 0) return left(`${file}: byte 3: zero dimensions`)
  if (b.length < 4 + 4 * nd) return left(`${file}: the header of ${nd} dimensions needs ${4 + 4 * nd} bytes, the file has ${b.length}`)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const dims = Array.from({ length: nd }, (_, i) => v.getUint32(4 + 4 * i))
  const n = dims.reduce((a, d) => a * d, 1)
  const start = 4 + 4 * nd
  const want = start + n * type.bytes
  if (b.length !== want)
    return left(
      `${file}: dimensions [${dims.join(', ')}] of ${type.name}s need ${want} bytes, the file has ${b.length} (${b.length < want ? 'truncated' : 'extra bytes at the end'})`,
    )
  const data = new Float32Array(n)
  for (let i = 0; i < n; i++) data[i] = type.get(v, start + i * type.bytes)
  return right({ dims, data })
}
