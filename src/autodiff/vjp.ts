import type { HostTensor } from '../tensor/host.ts'
import { fmt, shapesEqual } from '../tensor/shape.ts'
import { leaves, type Tree, unflatten } from '../tensor/tree.ts'
import { add, onesLike, zerosLike } from '../ops/elementwise.ts'
import { bind, isTensor, lift, type Primitive, type Tensor, type TensorLike, topoSort } from '../graph/graph.ts'

/**
 * Reverse-mode transpose of the traced graph: cotangents for `wrt` given cotangents `cts` of `outs`.
 * Emits ordinary ops, so the result can itself be differentiated (grad of grad).
 */
export const backprop = (outs: readonly Tensor[], cts: readonly Tensor[], wrt: readonly Tensor[]): Tensor[] => {
  const order = topoSort(outs)
  const targets = new Set(wrt)
  // nodes that depend on some target: only those need cotangents
  const live = new Set<Tensor>()
  for (const t of order) if (targets.has(t) || t.inputs.some((i) => live.has(i))) live.add(t)
  const ct = new Map<Tensor, Tensor>()
  outs.forEach((o, i) => {
    if (!shapesEqual(o.shape, cts[i].shape))
      throw new Error(`vjp: cotangent ${i} has shape ${fmt(cts[i].shape)}, output has ${fmt(o.shape)}`)
    accumulate(ct, o, cts[i])
  })
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k]
    const dy = ct.get(t)
    if (!dy || !live.has(t) || (targets.has(t) && t.inputs.length === 0)) continue
    if (t.inputs.length === 0) continue
    if (!t.prim.vjp) throw new Error(`vjp: op '${t.prim.name}' is not differentiable`)
    const dxs = t.prim.vjp(dy, t.inputs, t, t.attrs)
    t.inputs.forEach((x, i) => {
      const dx = dxs[i]
      if (!dx || !live.has(x)) return
      if (!shapesEqual(dx.shape, x.shape))
        throw new Error(`vjp of '${t.prim.name}': input ${i} cotangent ${fmt(dx.shape)} vs input ${fmt(x.shape)}`)
      accumulate(ct, x, dx)
    })
  }
  return wrt.map((w) => ct.get(w) ?? zerosLike(w))
}

const accumulate = (ct: Map<Tensor, Tensor>, t: Tensor, dy: Tensor): void => {
  const prev = ct.get(t)
  ct.set(t, prev ? add(prev, dy) : dy)
}

/** A tree whose tensor leaves may also be given as host tensors or numbers. */
export type In<T> = T extends Tensor | HostTensor | number
  ? TensorLike
  : T extends readonly unknown[]
    ? { [K in keyof T]: In<T[K]> }
    : T extends object
      ? { [K in keyof T]: In<T[K]> }
      : T

/** A tree with every tensor-like leaf made symbolic. */
export type Out<T> = T extends Tensor | HostTensor | number
  ? Tensor
  : T extends readonly unknown[]
    ? { [K in keyof T]: Out<T[K]> }
    : T extends object
      ? { [K in keyof T]: Out<T[K]> }
      : T

/** Lifts every leaf of a tree to a tensor (host data becomes `const` nodes). */
export const liftTree = <P>(p: P): Out<P> => unflatten(p as Tree<TensorLike>, leaves(p as Tree<TensorLike>).map(lift)) as Out<P>

/**
 * `vjp(f, primals)`: traces `f` at `primals` (a tree of tensors / host tensors) and returns its outputs
 * and a function from output cotangents (same tree as the outputs) to primal cotangents (same tree as primals).
 */
export const vjp = <P, O>(f: (p: P) => O, primals: In<P>): { out: O; vjp: (ct: In<O>) => Out<P> } => {
  const p = liftTree(primals) as P
  const pl = leaves(p as Tree<Tensor>)
  const out = f(p)
  const ol = leaves(out as Tree<Tensor>)
  ol.forEach((o, i) => {
    if (!isTensor(o)) throw new TypeError(`vjp: output leaf ${i} is not a tensor`)
  })
  return {
    out,
    vjp: (ct) => {
      const cl = leaves(ct as Tree<TensorLike>).map(lift)
      if (cl.length !== ol.length) throw new TypeError(`vjp: ${cl.length} cotangents for ${ol.length} outputs`)
      return unflatten(p as Tree<Tensor>, backprop(ol, cl, pl)) as Out<P>
    },
  }
}

/** `valueAndGrad(f)(params)`: f must return a scalar tensor; the gradient has the tree shape of params. */
export const valueAndGrad =
  <P>(f: (p: P) => Tensor) =>
  (params: In<P>): { value: Tensor; grad: Out<P> } => {
    const { out, vjp: back } = vjp(f, params)
    if (out.shape.length !== 0) throw new TypeError(`grad: function must return a scalar, got shape ${fmt(out.shape)}`)
    return { value: out, grad: back(onesLike(out) as In<Tensor>) }
  }

/** `grad(f)(params)`: the gradient tree of a scalar function. */
export const grad =
  <P>(f: (p: P) => Tensor) =>
  (params: In<P>): Out<P> =>
    valueAndGrad(f)(params).grad

/**
 * `customVjp(f, bwd)`: a function whose forward is `f` and whose VJP is `bwd(dy, xs, y)` instead of
 * the transpose of `f`'s trace. Forward runs `f`'s graph; gradients never enter it.
 */
export const customVjp =
  (name: string, f: (...xs: Tensor[]) => Tensor, bwd: (dy: Tensor, xs: readonly Tensor[], y: Tensor) => readonly (Tensor | null)[]) =>
  (...args: TensorLike[]): Tensor => {
    const xs = args.map(lift)
    const y = f(...xs)
    const prim: Primitive = {
      name: `custom:${name}`,
      alias: true,
      shape: ([s]) => s,
      vjp: (dy, ins, out) => [null, ...bwd(dy, ins.slice(1), out)],
    }
    return bind(prim, [y, ...xs])
  }
