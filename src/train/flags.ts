/**
 * Command-line flags validated with io-ts: each flag has a codec from its string form, and a bad value
 * reads `--epochs: expected a positive integer, got "abc"`. Unknown flags are errors too (typos fail loudly).
 */
import { isLeft, left, right, type Either } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/** A codec from the flag's string to a value, with the phrase used in error messages. */
export interface FlagCodec<A> {
  readonly expected: string
  readonly codec: t.Type<A, string, string>
}

const fromString = <A>(name: string, expected: string, parse: (s: string) => A | undefined): FlagCodec<A> => ({
  expected,
  codec: new t.Type<A, string, string>(
    name,
    (u): u is A => parse(String(u)) !== undefined,
    (s, ctx) => {
      const v = parse(s)
      return v === undefined ? t.failure(s, ctx, expected) : t.success(v)
    },
    (a) => String(a),
  ),
})

/** Flag codecs: positive/non-negative integers and numbers, one-of choices, comma lists of choices. */
export const flag = {
  positiveInt: fromString('PositiveInt', 'a positive integer', (s) => (/^\d+$/.test(s) && Number(s) > 0 ? Number(s) : undefined)),
  nonNegativeInt: fromString('NonNegativeInt', 'a non-negative integer', (s) => (/^\d+$/.test(s) ? Number(s) : undefined)),
  positiveNumber: fromString('PositiveNumber', 'a positive number', (s) => {
    const v = Number(s)
    return s.trim() !== '' && Number.isFinite(v) && v > 0 ? v : undefined
  }),
  nonNegativeNumber: fromString('NonNegativeNumber', 'a non-negative number', (s) => {
    const v = Number(s)
    return s.trim() !== '' && Number.isFinite(v) && v >= 0 ? v : undefined
  }),
  int: fromString('Int', 'an integer', (s) => (/^-?\d+$/.test(s) ? Number(s) : undefined)),
  string: fromString('String', 'a string', (s) => s),
  oneOf: <const C extends readonly string[]>(choices: C): FlagCodec<C[number]> =>
    fromString(`OneOf(${choices.join('|')})`, `one of ${choices.join(', ')}`, (s) => (choices.includes(s) ? (s as C[number]) : undefined)),
  listOf: <const C extends readonly string[]>(choices: C): FlagCodec<C[number][]> =>
    fromString(`ListOf(${choices.join('|')})`, `a comma-separated list of ${choices.join(', ')}`, (s) => {
      const xs = s.split(',').map((x) => x.trim())
      return xs.length > 0 && xs.every((x) => choices.includes(x)) ? (xs as C[number][]) : undefined
    }),
}

export type FlagSpec = Readonly<Record<string, FlagCodec<any>>>
export type FlagValues<S extends FlagSpec> = { -readonly [K in keyof S]?: S[K] extends FlagCodec<infer A> ? A : never }

/** Parses `--name value` / `--name=value` pairs against `spec`; Left carries one message per bad flag. */
export const parseFlags = <S extends FlagSpec>(argv: readonly string[], spec: S): Either<string[], FlagValues<S>> => {
  const out: Record<string, unknown> = {}
  const errors: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) {
      errors.push(`unexpected argument "${a}" (flags look like --name value)`)
      continue
    }
    const eq = a.indexOf('=')
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2)
    const c = spec[name]
    if (!c) {
      errors.push(
        `--${name}: unknown flag (known: ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(', ')})`,
      )
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++
      continue
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i]
    if (raw === undefined) {
      errors.push(`--${name}: expected ${c.expected}, got nothing`)
      continue
    }
    const r = c.codec.decode(raw)
    if (isLeft(r)) errors.push(`--${name}: expected ${c.expected}, got ${JSON.stringify(raw)}`)
    else out[name] = r.right
  }
  return errors.length ? left(errors) : right(out as FlagValues<S>)
}
