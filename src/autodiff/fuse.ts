/**
 * Elementwise fusion, a graph pass run by the executor for backends that have a `fused` kernel.
 * A chain of elementwise nodes where each inner node has one consumer, the same shape as that
 * consumer and is not a requested output becomes one `fused` node: its inputs are the chain's external
 * inputs (broadcast as before) and `attrs.steps` lists the formulas in order, each naming its operands
 * (`x{j}` = external input j, `t{k}` = step k). Ref and cpu have no `fused` kernel and never see one.
 */
import { shapesEqual } from '../tensor/shape.ts'
import type { Primitive, Tensor } from './graph.ts'

/** One step of a fused chain: an elementwise formula over `a`, `b`, `c` and the names of its operands. */
export interface FusedStep {
  readonly expr: string
  readonly args: readonly string[]
}

/** The executor-only primitive of fused chains (never bound by user code, so no VJP). */
export const fusedPrim: Primitive = {
  name: 'fused',
  shape: () => {
    throw new Error('fused: created by the executor only')
  },
}

const isElementwise = (t: Tensor): boolean => t.prim.elementwise !== undefined && t.inputs.length > 0

/**
 * Rewrites a topologically sorted node list, replacing fusable chains by `fused` nodes.
 * Returns the new order and the map from old to new nodes (for looking up outputs).
 */
export const fuseElementwise = (order: readonly Tensor[], outputs: ReadonlySet<Tensor>): { order: Tensor[]; remap: Map<Tensor, Tensor> } => {
  const consumers = new Map<Tensor, Set<Tensor>>()
  for (const t of order) for (const i of t.inputs) (consumers.get(i) ?? consumers.set(i, new Set()).get(i)!).add(t)
  const absorbed = (t: Tensor): boolean => {
    if (!isElementwise(t) || outputs.has(t)) return false
    const cs = consumers.get(t)
    if (cs?.size !== 1) return false
    const [c] = cs
    return isElementwise(c) && shapesEqual(c.shape, t.shape)
  }
  const remap = new Map<Tensor, Tensor>()
  const mapped = (t: Tensor): Tensor => remap.get(t) ?? t
  const out: Tensor[] = []
  for (const t of order) {
    if (absorbed(t)) continue
    let node: Tensor
    if (isElementwise(t) && t.inputs.some(absorbed)) {
      const leaves: Tensor[] = []
      const steps: FusedStep[] = []
      const names = new Map<Tensor, string>()
      const visit = (u: Tensor): string => {
        const known = names.get(u)
        if (known) return known
        let name: string
        if (u !== t && !absorbed(u)) {
          name = `x${leaves.length}`
          leaves.push(u)
        } else {
          const args = u.inputs.map(visit)
          name = `t${steps.length}`
          steps.push({ expr: u.prim.elementwise!.expr, args })
        }
        names.set(u, name)
        return name
      }
      visit(t)
      node = { kind: 'tensor', shape: t.shape, prim: fusedPrim, inputs: leaves.map(mapped), attrs: { steps } }
    } else if (t.inputs.some((i) => remap.has(i))) {
      node = { ...t, inputs: t.inputs.map(mapped) }
    } else node = t
    if (node !== t) remap.set(t, node)
    out.push(node)
  }
  return { order: out, remap }
}
