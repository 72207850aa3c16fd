/** Weight initialisers: pure functions of an explicit key and a shape, returning float32 host tensors. */
import { fromData, type HostTensor } from '../tensor/host.ts'
import { type Key, normalArray, uniformArray } from '../tensor/prng.ts'
import { type Shape, sizeOf } from '../tensor/shape.ts'

/** He (Kaiming) normal for ReLU nets: N(0, 2 / fanIn); fanIn = ∏ shape[:-1] (HWIO or [in, out]). */
export const heNormal = (k: Key, shape: Shape): HostTensor => {
  const fanIn = sizeOf(shape.slice(0, -1))
  const std = Math.sqrt(2 / fanIn)
  const z = normalArray(k, sizeOf(shape))
  return fromData(
    Float32Array.from(z, (v) => v * std),
    shape,
  )
}

/** Glorot (Xavier) uniform: U(±√(6 / (fanIn + fanOut))); for layers not followed by ReLU. */
export const glorotUniform = (k: Key, shape: Shape): HostTensor => {
  const fanIn = sizeOf(shape.slice(0, -1))
  const fanOut = shape[shape.length - 1]
  const lim = Math.sqrt(6 / (fanIn + fanOut))
  const u = uniformArray(k, sizeOf(shape))
  return fromData(
    Float32Array.from(u, (v) => (2 * v - 1) * lim),
    shape,
  )
}

/** Zeros `[...shape]` (biases, batch-norm β and running mean). */
export const zerosInit = (shape: Shape): HostTensor => fromData(new Float32Array(sizeOf(shape)), shape)

/** Ones `[...shape]` (batch-norm γ and running variance). */
export const onesInit = (shape: Shape): HostTensor => fromData(new Float32Array(sizeOf(shape)).fill(1), shape)
