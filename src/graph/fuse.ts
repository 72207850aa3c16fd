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
export const fuseElementwise = (
  order: readonly Tensor[],
  outputs: ReadonlySet<Tensor>,
  maxInputs = Number.POSITIVE_INFINITY,
): { order: Tensor[]; remap: Map<Tensor, Tensor> } => {
  const consumers = new Map<Tensor, Set<Tensor>>()
  for (const t of order) for (const i of t.inputs) (consumers.get(i) ?? consumers.set(i, new Set()).get(i)!).add(t)
  const absorbed = new Set<Tensor>()
  for (const t of order) {
    if (!isElementwise(t) || outputs.has(t)) continue
    const cs = consumers.get(t)
    if (cs?.size !== 1) continue
    const [c] = cs
    if (isElementwise(c) && shapesEqual(c.shape, t.shape)) absorbed.add(t)
  }
  /** The external inputs and steps of the group rooted at `t` (its absorbed inputs, recursively). */
  const group = (t: Tensor) => {
    const leaves: Tensor[] = []
    const steps: FusedStep[] = []
    const names = new Map<Tensor, string>()
    const visit = (u: Tensor): string => {
      const known = names.get(u)
      if (known) return known
      let name: string
      if (u !== t && !absorbed.has(u)) {
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
    return { leaves, steps }
  }
  // a kernel binds at most `maxInputs` buffers (WebGPU: 8 storage buffers per stage, one is the
  // output): groups with more external inputs give their direct absorbed inputs back, until all fit
  // (unbounded kernels, e.g. cpu: nothing to give back, so skip building every group an extra time)
  for (let changed = Number.isFinite(maxInputs); changed; ) {
    changed = false
    for (const t of order)
      if (isElementwise(t) && !absorbed.has(t) && t.inputs.some((i) => absorbed.has(i)) && group(t).leaves.length > maxInputs) {
        for (const i of t.inputs) absorbed.delete(i)
        changed = true
      }
  }
  const remap = new Map<Tensor, Tensor>()
  const mapped = (t: Tensor): Tensor => remap.get(t) ?? t
  const out: Tensor[] = []
  for (const t of order) {
    if (absorbed.has(t)) continue
    let node: Tensor
    if (isElementwise(t) && t.inputs.some((i) => absorbed.has(i))) {
      const { leaves, steps } = group(t)
      node = { kind: 'tensor', shape: t.shape, prim: fusedPrim, inputs: leaves.map(mapped), attrs: { steps } }
    } else if (t.inputs.some((i) => remap.has(i))) {
      node = { ...t, inputs: t.inputs.map(mapped) }
    } else node = t
    if (node !== t) remap.set(t, node)
    out.push(node)
  }
  return { order: out, remap }
}
