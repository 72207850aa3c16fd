/**
 * Tensor unfoldings of Hu et al. 2018, Eqs. (1)–(3), with their inverses. Axes are 0-based here
 * (the paper's mode i is axis i − 1). Both are pure data movement (transpose + reshape).
 */
import { lift, type Tensor, type TensorLike } from '../graph/graph.ts'
import { reshape, transpose } from '../ops/shape.ts'
import { fmt, normAxis, type Shape, ShapeError, sizeOf } from '../tensor/shape.ts'

/** Mode-i flattening W_(i) = reshape(permute(W, [i, 0, …, i−1, i+1, …]), [D_i, ∏_{j≠i} D_j]): [D…] → [D_i, ∏others]. */
export const modeUnfold = (w: TensorLike, axis: number): Tensor => {
  const t = lift(w)
  const a = normAxis('modeUnfold', axis, t.shape.length)
  const perm = [a, ...t.shape.map((_, i) => i).filter((i) => i !== a)]
  return reshape(transpose(t, perm), [t.shape[a], sizeOf(t.shape) / Math.max(t.shape[a], 1)])
}

/** Inverse of modeUnfold: [D_i, ∏others] → `shape` (the original tensor's shape). */
export const modeFold = (m: TensorLike, axis: number, shape: Shape): Tensor => {
  const t = lift(m)
  const a = normAxis('modeFold', axis, shape.length)
  const rest = shape.filter((_, i) => i !== a)
  if (t.shape.length !== 2 || t.shape[0] !== shape[a] || t.shape[1] !== sizeOf(rest))
    throw new ShapeError(`modeFold: matrix ${fmt(t.shape)} is not the mode-${a} unfolding of ${fmt(shape)}`)
  const inv = shape.map((_, i) => (i === a ? 0 : i < a ? i + 1 : i))
  return transpose(reshape(t, [shape[a], ...rest]), inv)
}

/** Tensor-train unfolding W_[i] = reshape(W, [D_0…D_{i−1}, D_i…D_{N−1}]) for a split after `i` axes (1 ≤ i < N). */
export const ttUnfold = (w: TensorLike, i: number): Tensor => {
  const t = lift(w)
  if (!Number.isInteger(i) || i < 1 || i >= t.shape.length)
    throw new ShapeError(`ttUnfold: split ${i} must be in [1, ${t.shape.length - 1}] for a tensor of shape ${fmt(t.shape)}`)
  return reshape(t, [sizeOf(t.shape.slice(0, i)), sizeOf(t.shape.slice(i))])
}

/** Inverse of ttUnfold: [D_0…D_{i−1}, D_i…] → `shape`. */
export const ttFold = (m: TensorLike, i: number, shape: Shape): Tensor => {
  const t = lift(m)
  if (t.shape.length !== 2 || t.shape[0] !== sizeOf(shape.slice(0, i)) || t.shape[1] !== sizeOf(shape.slice(i)))
    throw new ShapeError(`ttFold: matrix ${fmt(t.shape)} is not the split-${i} TT unfolding of ${fmt(shape)}`)
  return reshape(t, shape)
}
