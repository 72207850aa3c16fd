/// <reference types="@webgpu/types" />
/**
 * Recycled device buffers. A training step launches thousands of kernels and each wants a fresh output buffer
 * (gpu.js's pipeline kernels, the tiled kernels, uploads); `createBuffer` costs tens of microseconds of host time
 * each, and the sizes repeat from step to step. `recycleBuffers` wraps a device's `createBuffer` so that a storage
 * buffer (no map usage) of a size and usage freed before is handed out again, and `destroy()` of such a buffer
 * keeps it for that (up to `capBytes` kept; beyond, it is destroyed for real).
 *
 * Safe on one queue: work is submitted in order and WebGPU orders every use of a buffer across submissions, so a
 * recycled buffer is written only after all work submitted before its `destroy()` is done with it. Contents are
 * not cleared: every kernel that receives a buffer writes all of it before anything reads it (as gpu.js and the
 * tiled kernels do); read-back staging buffers (map usage) are never recycled.
 */

/** Host-side counts of the recycler: buffers created by the device, handed out again, and bytes kept now. */
export interface BufferRecycling {
  created: number
  reused: number
  keptBytes: number
}

const MAP_READ = 0x0001
const MAP_WRITE = 0x0002
const installed = new WeakMap<GPUDevice, BufferRecycling>()

/** Installs recycling on `device` once (later calls return the first call's counts); `capBytes` 0 installs nothing. */
export const recycleBuffers = (device: GPUDevice, capBytes: number): BufferRecycling | undefined => {
  const done = installed.get(device)
  if (done || capBytes <= 0) return done
  const stats: BufferRecycling = { created: 0, reused: 0, keptBytes: 0 }
  const free = new Map<string, GPUBuffer[]>()
  // buffers waiting in `free`: a second destroy() of one must not list it twice (two owners of one buffer)
  const waiting = new WeakSet<GPUBuffer>()
  const create = device.createBuffer.bind(device)
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    if (desc.mappedAtCreation || desc.usage & (MAP_READ | MAP_WRITE)) return create(desc)
    const key = `${desc.size}|${desc.usage}`
    const kept = free.get(key)?.pop()
    if (kept) {
      waiting.delete(kept)
      stats.reused++
      stats.keptBytes -= desc.size
      return kept
    }
    stats.created++
    const buf = create(desc)
    const destroy = buf.destroy.bind(buf)
    buf.destroy = () => {
      if (waiting.has(buf)) return
      if (stats.keptBytes + desc.size > capBytes) return destroy()
      waiting.add(buf)
      stats.keptBytes += desc.size
      const list = free.get(key)
      if (list) list.push(buf)
      else free.set(key, [buf])
    }
    return buf
  }
  installed.set(device, stats)
  return stats
}
