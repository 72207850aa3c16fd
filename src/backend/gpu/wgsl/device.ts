/// <reference types="@webgpu/types" />
/**
 * Hand-written WGSL dispatched on gpu.js's own WebGPU device, on the same buffers: gpu.js keeps one device per
 * page (`WebGPUContext.acquire()`, exported) and a pipeline result is a `WebGPUBufferResult` (exported) over a
 * plain storage buffer. A tiled kernel binds those buffers directly, and its output is wrapped back into a
 * `WebGPUBufferResult` of the same context, which gpu.js kernels accept as an argument: tensors never leave the
 * device between a gpu.js kernel and a tiled one. Uploads and read-backs go through this file too, so the
 * backend can count every host round-trip.
 */
import * as gpujs from 'gpu.js'
import { type FlatPlan, gemmPlan, type GemmSpec } from './gemm.ts'
import { type BufferRecycling, recycleBuffers } from './pool.ts'

// the numeric values are fixed by the WebGPU spec (the GPUBufferUsage globals exist only where WebGPU does)
const STORAGE = 0x0080
const COPY_SRC = 0x0004
const COPY_DST = 0x0008
const MAP_READ = 0x0001
const MAP_MODE_READ = 0x0001

/** gpu.js's shared device context (the object its kernels compare handles against). */
export interface DeviceContext {
  readonly device: GPUDevice
  readonly isLost: boolean
}

/** A pipeline result as gpu.js hands it out (the fields this backend uses). */
export interface DeviceHandle {
  output: number[]
  componentCount: number
  buffer: GPUBuffer & { _refs?: number }
  context?: unknown
  kernel?: { outputBuffer: unknown; bindGroupDirty: boolean }
  toArray(): Promise<Float32Array>
  delete(): void
}

const lib = gpujs as unknown as {
  WebGPUContext: { acquire(): Promise<DeviceContext> }
  WebGPUBufferResult: new (s: Record<string, unknown>) => DeviceHandle
}

/** Counters of host↔device traffic: uploads, read-backs (each a round-trip) and hand-written dispatches. */
export interface DeviceCounters {
  uploads: number
  readbacks: number
  /** Bytes of all read-backs, and of the largest one (what a step's host round-trips cost, not just how many). */
  readBytes: number
  largestRead: number
  /** Read-backs by size in bytes (so the largest of any span of work shows as the sizes whose counts grew). */
  readSizes: Record<number, number>
  tiledDispatches: number
}

/** Runs tiled WGSL kernels, uploads and read-backs on gpu.js's device. */
export interface WgslDevice {
  /** An f32 buffer holding `data`, usable by gpu.js kernels and tiled kernels alike. */
  upload(data: Float32Array): Promise<DeviceHandle>
  /** The first `n` floats of a handle's buffer (one round-trip). */
  read(h: DeviceHandle, n: number): Promise<Float32Array>
  /** C = the implicit GEMM `spec` over the buffers of `a` and `b`; `n` floats. */
  gemm(spec: GemmSpec, a: DeviceHandle, b: DeviceHandle, n: number): Promise<DeviceHandle>
  /** One hand-written kernel: binds `inputs` then a fresh output of `n` floats. */
  kernel(plan: FlatPlan, inputs: readonly DeviceHandle[], n: number): Promise<DeviceHandle>
  /** A reduction in two passes of one submission: `first` binds `inputs` then `tmp` floats, `second` binds those then `n` floats. */
  reduce(first: FlatPlan, second: FlatPlan, inputs: readonly DeviceHandle[], tmp: number, n: number): Promise<DeviceHandle>
  readonly counters: DeviceCounters
  /** Compiled WGSL pipelines. */
  pipelines(): number
  /** The device's buffer recycling counts (undefined before first use or when off). */
  recycling(): BufferRecycling | undefined
}

/** Buffers are rounded up to 16 bytes, so any of them may be bound as array<vec4<f32>>. */
const bytesFor = (n: number): number => Math.max(16, Math.ceil((n * 4) / 16) * 16)

/**
 * The device interface of a gpu backend in webgpu mode; the device itself is gpu.js's, acquired on first use, when
 * buffer recycling (`pool.ts`, up to `recycleBytes` kept; 0: none) is installed on it if no backend did before.
 */
export const wgslDevice = (recycleBytes = 4 * 2 ** 30): WgslDevice => {
  let ctx: Promise<DeviceContext> | undefined
  let recycling: BufferRecycling | undefined
  const context = (): Promise<DeviceContext> => {
    ctx ??= lib.WebGPUContext.acquire().then((c) => {
      recycling = recycleBuffers(c.device, recycleBytes)
      return c
    })
    return ctx
  }
  const pipelines = new Map<string, Promise<GPUComputePipeline>>()
  const counters: DeviceCounters = { uploads: 0, readbacks: 0, readBytes: 0, largestRead: 0, readSizes: {}, tiledDispatches: 0 }

  /** Compiles once per source; a WGSL error rejects with the compiler's messages and the source. */
  const pipeline = (device: GPUDevice, source: string): Promise<GPUComputePipeline> => {
    let p = pipelines.get(source)
    if (!p) {
      p = (async () => {
        const module = device.createShaderModule({ code: source })
        const info = await module.getCompilationInfo()
        const errors = info.messages.filter((m) => m.type === 'error')
        if (errors.length)
          throw new Error(
            `gpu backend: tiled WGSL kernel failed to compile:\n${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('\n')}\n${source}`,
          )
        return device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } })
      })()
      pipelines.set(source, p)
      p.catch(() => pipelines.delete(source))
    }
    return p
  }

  const wrap = (c: DeviceContext, buffer: GPUBuffer, n: number): DeviceHandle =>
    new lib.WebGPUBufferResult({ buffer, output: [n], componentCount: 1, context: c, kernel: reader })

  const newBuffer = (device: GPUDevice, n: number): GPUBuffer =>
    device.createBuffer({ size: bytesFor(n), usage: STORAGE | COPY_SRC | COPY_DST })

  const read = async (h: DeviceHandle, n: number): Promise<Float32Array> => {
    const { device, isLost } = await context()
    if (isLost) throw new Error('gpu backend: the WebGPU device was lost; this buffer no longer holds data')
    const bytes = n * 4
    const staging = device.createBuffer({ size: Math.max(4, bytes), usage: MAP_READ | COPY_DST })
    const enc = device.createCommandEncoder()
    if (bytes > 0) enc.copyBufferToBuffer(h.buffer, 0, staging, 0, bytes)
    device.queue.submit([enc.finish()])
    counters.readbacks++
    counters.readBytes += bytes
    counters.largestRead = Math.max(counters.largestRead, bytes)
    counters.readSizes[bytes] = (counters.readSizes[bytes] ?? 0) + 1
    await staging.mapAsync(MAP_MODE_READ, 0, Math.max(4, bytes))
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0))
    staging.unmap()
    staging.destroy()
    return out
  }
  /** What `toArray()` of a wrapped handle calls (gpu.js routes it to the producing "kernel"). */
  const reader = { outputBuffer: null, bindGroupDirty: false, readBufferResult: (h: DeviceHandle) => read(h, h.output[0]) }

  const dispatch = (
    device: GPUDevice,
    pipe: GPUComputePipeline,
    enc: GPUCommandEncoder,
    buffers: readonly GPUBuffer[],
    groups: readonly number[],
  ): void => {
    const bind = device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    })
    const pass = enc.beginComputePass()
    pass.setPipeline(pipe)
    pass.setBindGroup(0, bind)
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2])
    pass.end()
    counters.tiledDispatches++
  }

  return {
    counters,
    pipelines: () => pipelines.size,
    recycling: () => recycling && { ...recycling },
    read,
    upload: async (data) => {
      const c = await context()
      const buf = newBuffer(c.device, data.length)
      c.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength)
      counters.uploads++
      return wrap(c, buf, data.length)
    },
    gemm: async (spec, a, b, n) => {
      const c = await context()
      const { device } = c
      const plan = gemmPlan(spec)
      const main = await pipeline(device, plan.source)
      const comb = plan.combine ? await pipeline(device, plan.combine.source) : undefined
      const out = newBuffer(device, n)
      const enc = device.createCommandEncoder()
      if (plan.combine && comb) {
        // partial tiles of every K chunk, summed by a second pass in the same submission
        const part = newBuffer(device, n * plan.splits)
        dispatch(device, main, enc, [a.buffer, b.buffer, part], plan.groups)
        dispatch(device, comb, enc, [part, out], plan.combine.groups)
        device.queue.submit([enc.finish()])
        part.destroy()
      } else {
        dispatch(device, main, enc, [a.buffer, b.buffer, out], plan.groups)
        device.queue.submit([enc.finish()])
      }
      return wrap(c, out, n)
    },
    kernel: async (plan, inputs, n) => {
      const c = await context()
      const pipe = await pipeline(c.device, plan.source)
      const out = newBuffer(c.device, n)
      const enc = c.device.createCommandEncoder()
      dispatch(c.device, pipe, enc, [...inputs.map((h) => h.buffer), out], plan.groups)
      c.device.queue.submit([enc.finish()])
      return wrap(c, out, n)
    },
    reduce: async (first, second, inputs, tmp, n) => {
      const c = await context()
      const [p1, p2] = await Promise.all([pipeline(c.device, first.source), pipeline(c.device, second.source)])
      const part = newBuffer(c.device, tmp)
      const out = newBuffer(c.device, n)
      const enc = c.device.createCommandEncoder()
      dispatch(c.device, p1, enc, [...inputs.map((h) => h.buffer), part], first.groups)
      dispatch(c.device, p2, enc, [part, out], second.groups)
      c.device.queue.submit([enc.finish()])
      part.destroy()
      return wrap(c, out, n)
    },
  }
}
