/**
 * Parameter trees: readonly nested records and arrays whose leaves are tensors (JAX pytrees).
 * A leaf is anything `isLeaf` accepts; records and arrays are traversed in a fixed order
 * (array index order, then record keys in insertion order).
 */
export type Tree<L> = L | readonly Tree<L>[] | { readonly [k: string]: Tree<L> }

const isTensorLike = (x: object): boolean => {
  const k = (x as { kind?: unknown }).kind
  return k === 'host' || k === 'tensor'
}
const isContainer = (x: unknown): boolean =>
  Array.isArray(x) || (typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype && !isTensorLike(x))

/** The leaves in traversal order. */
export const leaves = <L>(t: Tree<L>): L[] => {
  const out: L[] = []
  const rec = (x: unknown): void => {
    if (Array.isArray(x)) for (const e of x) rec(e)
    else if (isContainer(x)) for (const k of Object.keys(x as object)) rec((x as Record<string, unknown>)[k])
    else if (x !== undefined && x !== null) out.push(x as L)
  }
  rec(t)
  return out
}

/** Maps every leaf, keeping the structure; `path` is the list of keys to the leaf. */
export const treeMap = <A, B>(t: Tree<A>, f: (leaf: A, path: readonly (string | number)[]) => B): Tree<B> => {
  const rec = (x: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(x)) return x.map((e, i) => rec(e, [...path, i]))
    if (isContainer(x)) {
      const o: Record<string, unknown> = {}
      for (const k of Object.keys(x as object)) o[k] = rec((x as Record<string, unknown>)[k], [...path, k])
      return o
    }
    if (x === undefined || x === null) return x
    return f(x as A, path)
  }
  return rec(t, []) as Tree<B>
}

/** Maps leaves of two trees of the same structure pairwise; throws naming the first differing path. */
export const treeZip = <A, B, C>(a: Tree<A>, b: Tree<B>, f: (x: A, y: B, path: readonly (string | number)[]) => C): Tree<C> => {
  const rec = (x: unknown, y: unknown, path: (string | number)[]): unknown => {
    const where = path.length ? path.join('.') : '<root>'
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || y.length !== x.length) throw new TypeError(`treeZip: structures differ at ${where}`)
      return x.map((e, i) => rec(e, y[i], [...path, i]))
    }
    if (isContainer(x)) {
      if (!isContainer(y)) throw new TypeError(`treeZip: structures differ at ${where}`)
      const kx = Object.keys(x as object)
      const ky = Object.keys(y as object)
      if (kx.length !== ky.length || kx.some((k) => !(k in (y as object))))
        throw new TypeError(`treeZip: keys differ at ${where}: {${kx.join(',')}} vs {${ky.join(',')}}`)
      const o: Record<string, unknown> = {}
      for (const k of kx) o[k] = rec((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], [...path, k])
      return o
    }
    if (x === undefined || x === null) return x
    if (isContainer(y) || Array.isArray(y)) throw new TypeError(`treeZip: structures differ at ${where}`)
    return f(x as A, y as B, path)
  }
  return rec(a, b, []) as Tree<C>
}

/** Rebuilds a tree of `like`'s structure from a flat list of leaves. */
export const unflatten = <A, B>(like: Tree<A>, flat: readonly B[]): Tree<B> => {
  let i = 0
  const out = treeMap(like, () => flat[i++])
  if (i !== flat.length) throw new TypeError(`unflatten: ${flat.length} leaves for a tree of ${i}`)
  return out
}
