/**
 * Fine-tuning: copy a trained model's tensors (a checkpoint's trunk) into a model whose head differs, and
 * optionally freeze part of it. Both go by tree path (`tasks.0.stages.1.conv.w`), so any model works.
 */
import type { Tensor, TensorLike } from '../graph/graph.ts'
import { lift } from '../graph/graph.ts'
import type { Optimizer } from '../optim/index.ts'
import type { HostTensor } from '../tensor/host.ts'
import { leaves, type Tree, treeMap } from '../tensor/tree.ts'

/** Which paths to leave alone: a predicate, or path prefixes (`'head'` matches `head.w` and `head.b`). */
export type PathFilter = ((path: string) => boolean) | readonly string[]

const matches = (f: PathFilter | undefined, path: string): boolean =>
  f === undefined ? false : typeof f === 'function' ? f(path) : f.some((p) => path === p || path.startsWith(`${p}.`))

/** Leaves of a tree by dotted path. */
const byPath = (t: unknown): Map<string, TensorLike> => {
  const out = new Map<string, TensorLike>()
  treeMap(t as Tree<TensorLike>, (leaf, path) => {
    out.set(path.join('.'), leaf)
    return leaf
  })
  return out
}

/**
 * Returns `target` with every tensor that `source` has at the same path (and that `skip` does not match)
 * replaced by the source's; the rest (a new head) keeps its fresh values. Throws naming the first tensor whose
 * shape differs. `loaded` / `fresh` list the paths taken from the source / kept from the target.
 */
export const loadTrunk = <P>(
  target: P,
  source: unknown,
  opts: { skip?: PathFilter } = {},
): { params: P; loaded: string[]; fresh: string[] } => {
  const src = byPath(source)
  const loaded: string[] = []
  const fresh: string[] = []
  const params = treeMap(target as Tree<TensorLike>, (leaf, path) => {
    const name = path.join('.')
    const s = src.get(name)
    if (s === undefined || matches(opts.skip, name)) {
      fresh.push(name)
      return leaf
    }
    const want = lift(leaf).shape
    const got = lift(s).shape
    if (want.length !== got.length || want.some((d, i) => d !== got[i]))
      throw new RangeError(
        `loadTrunk: tensor ${name} has shape [${got.join(',')}] in the checkpoint but [${want.join(',')}] in the model ` +
          `(a different head? pass skip: ['${path.slice(0, -1).join('.') || name}'] to keep the model's fresh one)`,
      )
    loaded.push(name)
    return s
  }) as P
  if (loaded.length === 0)
    throw new RangeError(
      `loadTrunk: no tensor of the checkpoint matches the model's paths (checkpoint: ${[...src.keys()].slice(0, 3).join(', ')}…; ` +
        `model: ${fresh.slice(0, 3).join(', ')}…); load the params subtree (e.g. tree.state.params)`,
    )
  return { params, loaded, fresh }
}

/** Wraps an optimiser so the parameters whose paths `frozen` matches never change (their gradients are ignored). */
export const freeze = <S>(opt: Optimizer<S>, frozen: PathFilter): Optimizer<S> => ({
  name: `${opt.name} (partly frozen)`,
  init: opt.init,
  update: (state, grads, params, lr) => {
    const next = opt.update(state, grads, params, lr)
    const old = leaves(params as Tree<TensorLike>)
    let i = 0
    const kept = treeMap(next.params as Tree<Tensor>, (leaf, path) => {
      const o = old[i++]
      return matches(frozen, path.join('.')) ? lift(o as TensorLike | HostTensor) : leaf
    })
    return { params: kept, state: next.state }
  },
})
