/**
 * The gpu.js backend. One `GPU` instance per backend; kernels are generated per (op, shapes, attrs)
 * from `kernels.ts`, compiled on first use and cached here. On WebGPU, matmul, the convs, `gram`, small `eigh`
 * and panel `qr` run instead as hand-written WGSL (`wgsl/`, `cholqr.ts`, which say why) on gpu.js's device and buffers. Intermediates
 * stay where gpu.js keeps pipeline results: GPU storage buffers on WebGPU (released with `delete()` after
 * their last use), typed arrays in wasm memory on `webasm`. Only `read` copies data back to the host.
 */
import { GPU, Input } from 'gpu.js'
import { fromData, type HostTensor } from '../../tensor/host.ts'
import { fmt, type Shape, sizeOf } from '../../tensor/shape.ts'
import { type Backend, type HostKernel, type KernelCall, missingKernel } from '../backend.ts'
import type { ArrayCtor } from '../host/backend.ts'
import { float32Floors, linalgKernels } from '../host/linalg-kernels.ts'
import { type GenCtx, type KernelSource, MAX_ELEMENTS } from './codegen.ts'
import { cholQr2, deviceQr } from './cholqr.ts'
import { conv2dBackInputSource, conv2dSource } from './conv.ts'
import { elementwiseSource, type FusedStep, matmulVec4, sourceFor, sources } from './kernels.ts'
import { type DeviceCounters, type DeviceHandle, wgslDevice } from './wgsl/device.ts'
import { DEVICE_EIGH_MAX, eighPlan } from './wgsl/eigh.ts'
import { deviceGram, eigh2Plan, gramPlan } from './wgsl/gram.ts'
import { deviceSyrk, syrkPlan } from './wgsl/syrk.ts'
import { gemmSpec, TILED_OPS } from './wgsl/ops.ts'

/** Kernels with a 4-outputs-per-thread variant (undefined when the shapes do not allow it). */
const vec4Sources: Readonly<Record<string, (call: KernelCall, ctx: GenCtx) => KernelSource | undefined>> = {
  matmul: matmulVec4,
  conv2d: (call, ctx) => conv2dSource(call, 4, ctx),
  conv2dBackInput: (call, ctx) => conv2dBackInputSource(call, 4, ctx),
}

/** Ops whose kernels address big tensors exactly (3-D views); the others are limited to MAX_ELEMENTS. */
const BIG_OPS = new Set([
  'fused',
  'sum',
  'max',
  'transpose',
  'slice',
  'pad',
  'concat',
  'broadcastTo',
  'conv2d',
  'conv2dBackInput',
  'conv2dBackFilter',
  'maxPool',
  'maxPoolBack',
  'maxPoolSelect',
  'avgPool',
  'avgPoolBack',
])

export type GpuMode = 'webgpu' | 'webasm'

/** The device plan of a `gram` of n inputs [d, c]: registers for K ≤ 4, tiles beyond, undefined when it runs on the host. */
const gramRoute = (n: number, [d, c]: readonly number[]) =>
  deviceGram(n, c) ? () => gramPlan(n, d, c) : deviceSyrk(n, c) ? () => syrkPlan(n, d, c) : undefined

export interface GpuBackendOptions {
  /**
   * Ops that run on the host (read back, compute, upload): small dense factorizations (k × k eigen-
   * problems, thin QR) that have no useful GPU form. Default: the linalg primitives (qr, eigh) with
   * the cpu backend's float32 kernels; entries here add to or replace those.
   */
  readonly hostKernels?: Readonly<Record<string, HostKernel<Float32Array>>>
  /** `webgpu` needs `navigator.gpu` with an adapter (see `createBackend`); `webasm` runs anywhere. Default webasm. */
  readonly mode?: GpuMode
  /** Compute 4 adjacent outputs per thread in matmul/conv (default: on for webgpu, off for webasm). */
  readonly vec4?: boolean
  /** Tensors larger than this are addressed through exact 3-D views (default 2^24; tests lower it). */
  readonly exactAbove?: number
  /**
   * On webgpu, run matmul and the conv primitives as the hand-written tiled WGSL kernels (`wgsl/`) on gpu.js's
   * device and buffers (default true); false keeps gpu.js's per-cell kernels (for comparisons).
   */
  readonly tiled?: boolean
  /**
   * On webgpu, freed device buffers are kept for reuse by later ones of the same size and usage (`wgsl/pool.ts`):
   * a training step's thousands of kernels stop creating a buffer each (on an H200, the two-task ResNet-34 step at
   * 256 images per task went from about 1 s to 0.37 s). At most this many bytes are kept (default 4 GiB, which that
   * step needs to create no buffer at all; 0 turns recycling off). The device is shared by every gpu backend of the
   * process: the first one to use it decides.
   */
  readonly recycleBytes?: number
}

/** What runs where on a gpu backend: kernel families and host traffic since it was created. */
export interface GpuDeviceStats extends DeviceCounters {
  /** Ops that ran as tiled WGSL, as gpu.js kernels, and on the host (read back, computed, uploaded). */
  readonly ran: { readonly tiled: number; readonly gpujs: number; readonly host: number }
  /** Device buffers created and handed out again since recycling was installed, and bytes kept for reuse now. */
  readonly buffers?: { readonly created: number; readonly reused: number; readonly keptBytes: number }
}

/** Bytes of the largest read-back between two `deviceStats()` snapshots (0 when none). */
export const largestReadBetween = (a: GpuDeviceStats, b: GpuDeviceStats): number =>
  Math.max(
    0,
    ...Object.keys(b.readSizes)
      .map(Number)
      .filter((n) => b.readSizes[n] > (a.readSizes[n] ?? 0)),
  )

/**
 * Frees a WebGPU result. gpu.js's kernel also keeps a reference to its latest output buffer until its
 * next call; dropping that too makes device memory track `liveBuffers` exactly (the next call of the
 * kernel allocates a fresh buffer, as immutable pipeline kernels do anyway).
 */
const freeHandle = (h: DeviceHandle): void => {
  const k = h.kernel
  const buf = h.buffer
  h.delete()
  if (k && k.outputBuffer === buf) {
    k.outputBuffer = null
    k.bindGroupDirty = true
    buf._refs = (buf._refs ?? 1) - 1
    if (buf._refs === 0) buf.destroy()
  }
}

/** A device buffer: a typed array (webasm) or a WebGPU handle that may still be in flight. */
export interface GpuBuffer {
  readonly size: number
  host?: Float32Array
  dev?: DeviceHandle
  pending?: Promise<DeviceHandle>
}

type Kernel = ((...args: unknown[]) => unknown) & { destroy(): void }

/** rcond 1e-3: the σ floor of a float32 Gram matrix, as on the cpu backend. */
const EIGH_FLOOR = 1e-3

const TOO_BIG = '(its gpu.js kernel indexes in f32, exact below 2^24): split the batch into micro-batches'

/** WebGPU guarantees 8 storage buffers per shader stage; one is the output. */
const MAX_INPUTS = 7

/** Names of the ops this backend has kernels for, including the fused elementwise op. */
const OPS = new Set([...Object.keys(sources), 'fused'])

/** The kernel source the gpu backend generates for a call (exported for the WGSL translation test and benches). */
export const gpuKernelSource = (call: KernelCall, opts: { readonly vec4?: boolean; readonly exactAbove?: number } = {}): KernelSource => {
  const ctx: GenCtx = { vec4: !!opts.vec4, big: (s) => sizeOf(s) > (opts.exactAbove ?? MAX_ELEMENTS) }
  const shapes = [...call.inShapes, call.outShape]
  const bigOp = BIG_OPS.has(call.op) || !!call.elementwise
  const huge = shapes.find((s) => sizeOf(s) > MAX_ELEMENTS)
  if (huge && !bigOp) throw new Error(`gpu backend: op '${call.op}' on ${fmt(huge)} exceeds ${MAX_ELEMENTS} elements ${TOO_BIG}`)
  if (call.op === 'fused') return elementwiseSource(call.inShapes, call.outShape, call.attrs.steps as FusedStep[], ctx)
  const v = ctx.vec4 ? vec4Sources[call.op]?.(call, ctx) : undefined
  if (v) return v
  const gen = sourceFor(call)
  if (!gen) throw missingKernel('gpu', call.op)
  return gen(call, ctx)
}

/** gpu.js kernel settings for a generated source. */
export const kernelSettings = (ks: KernelSource): Record<string, unknown> => ({
  output: ks.dims ?? [ks.size],
  pipeline: true,
  immutable: true,
  loopMaxIterations: Math.max(1000, (ks.loop ?? 0) + 1),
  tactic: 'precision',
  ...(ks.vec === 4 ? { returnType: 'Array(4)' } : {}),
})

/** Creates a gpu.js backend (`gpu`); call `dispose()` to free its kernels. */
export const gpuBackend = (
  opts: GpuBackendOptions = {},
): Backend<GpuBuffer> & { readonly mode: GpuMode; readonly tiled: boolean; deviceStats(): GpuDeviceStats; dispose(): void } => {
  const mode = opts.mode ?? 'webasm'
  const vec4 = opts.vec4 ?? mode === 'webgpu'
  const exactAbove = opts.exactAbove ?? MAX_ELEMENTS
  const tiled = mode === 'webgpu' && (opts.tiled ?? true)
  const gpu = new GPU({ mode })
  const dev = wgslDevice(opts.recycleBytes)
  const ran = { tiled: 0, gpujs: 0, host: 0 }
  const kernels = new Map<string, Kernel>()
  const live = new Set<GpuBuffer>()
  const track = (b: GpuBuffer): GpuBuffer => {
    live.add(b)
    return b
  }

  const compile = (ks: KernelSource, key: string): Kernel => {
    let k = kernels.get(key)
    if (!k) {
      k = gpu.createKernel(ks.source as any, kernelSettings(ks) as any) as unknown as Kernel
      kernels.set(key, k)
    }
    return k
  }

  /** Relabels a (tightly packed) WebGPU result: scalar components, the given dims (flat unless read 3-D). */
  const label = (h: DeviceHandle, dims: readonly number[]): void => {
    h.componentCount = 1
    h.output = [...dims]
  }

  /** webasm returns Array(4) and multi-dimensional results as nested arrays: pack them row-major. */
  const flat = (r: unknown, ks: KernelSource): Float32Array => {
    if (ks.vec !== 4 && !ks.dims) return r as Float32Array
    const out = new Float32Array(ks.size * (ks.vec ?? 1))
    let o = 0
    const walk = (v: unknown): void => {
      if (v instanceof Float32Array) {
        out.set(v, o)
        o += v.length
      } else for (const e of v as unknown[]) walk(e)
    }
    walk(r)
    return out
  }

  const upload = (t: HostTensor): GpuBuffer => {
    const n = sizeOf(t.shape)
    const data = Float32Array.from(t.data)
    if (mode === 'webasm' || n === 0) return track({ size: n, host: data })
    const b: GpuBuffer = { size: n }
    b.pending = dev.upload(data).then((h) => {
      b.dev = h
      b.pending = undefined
      return h
    })
    return track(b)
  }

  const read = (b: GpuBuffer, shape: Shape): HostTensor | Promise<HostTensor> => {
    if (b.host) return fromData(Float32Array.from(b.host), shape)
    const h = b.dev ? Promise.resolve(b.dev) : (b.pending as Promise<DeviceHandle>)
    return h.then((d) => dev.read(d, b.size)).then((data) => fromData(data, shape))
  }

  const hostKernels = { ...linalgKernels<Float32Array>(Float32Array as ArrayCtor<Float32Array>, EIGH_FLOOR), ...opts.hostKernels }
  /** Host fallback for `hostKernels` ops: on webgpu the inputs are read back and the result uploaded. */
  const runOnHost = (k: HostKernel<Float32Array>, call: KernelCall, inputs: readonly GpuBuffer[]): GpuBuffer | Promise<GpuBuffer> => {
    const n = sizeOf(call.outShape)
    const check = (out: Float32Array) => {
      if (out.length !== n)
        throw new Error(`gpu backend: host kernel '${call.op}' wrote ${out.length} values for shape ${fmt(call.outShape)}`)
      return out
    }
    if (mode === 'webasm')
      return track({
        size: n,
        host: check(
          Float32Array.from(
            k(
              inputs.map((b) => b.host!),
              call,
            ),
          ),
        ),
      })
    return Promise.all(inputs.map((b, j) => read(b, call.inShapes[j]))).then((hs) => {
      const out = check(
        Float32Array.from(
          k(
            hs.map((h) => h.data as Float32Array),
            call,
          ),
        ),
      )
      return upload(fromData(out, call.outShape))
    })
  }

  const handles = (inputs: readonly GpuBuffer[]): Promise<DeviceHandle[]> =>
    Promise.all(inputs.map((b) => b.dev ?? (b.pending as Promise<DeviceHandle>)))

  /** One op: its kernel (and follow-up stages), run on host arrays (webasm) or device handles (webgpu). */
  const run1 = (call: KernelCall, inputs: readonly GpuBuffer[]): GpuBuffer | Promise<GpuBuffer> => {
    const n = sizeOf(call.outShape)
    if (n === 0) return track({ size: 0, host: new Float32Array(0) })
    // small float32 eigenproblems (psdPow of a matmul Gram, the randomized SVD's l×l core) stay on the device unless
    // the caller replaced the kernel; a hi + lo (float64 Gram) input needs float64 arithmetic: host
    if (tiled && call.op === 'eigh' && call.inShapes.length === 1 && !opts.hostKernels?.eigh && call.inShapes[0][0] <= DEVICE_EIGH_MAX) {
      ran.tiled++
      return handles(inputs)
        .then((hs) => dev.kernel(eighPlan(call.inShapes[0][0], EIGH_FLOOR), hs, n))
        .then((h) => track({ size: n, dev: h }))
    }
    // the trace norms' float64 Gram in double-float WGSL: LAF's T × T in registers (gram.ts), Tucker/TT unfoldings of
    // any K as tiles (syrk.ts); only the K × K result is read back, by the host eigh of hi + lo when K > 2
    const gramOn = tiled && call.op === 'gram' && !opts.hostKernels?.gram ? gramRoute(call.inShapes.length, call.inShapes[0]) : undefined
    if (gramOn) {
      ran.tiled++
      const plan = gramOn()
      return handles(inputs)
        .then((hs) => dev.reduce(plan.partial, plan.finish, hs, plan.partials, n))
        .then((h) => track({ size: n, dev: h }))
    }
    if (tiled && call.op === 'eigh' && call.inShapes.length === 2 && !opts.hostKernels?.eigh && call.inShapes[0][0] <= 2) {
      ran.tiled++
      return handles(inputs)
        .then((hs) => dev.kernel(eigh2Plan(call.inShapes[0][0] as 1 | 2, float32Floors.gram), hs, n))
        .then((h) => track({ size: n, dev: h }))
    }
    // the randomized SVD's panels: Cholesky-QR2, only the l × l factorisations on the host (cholqr.ts)
    if (tiled && call.op === 'qr' && !opts.hostKernels?.qr && deviceQr(call.inShapes[0][0], call.inShapes[0][1])) {
      ran.tiled++
      const [m, l] = call.inShapes[0]
      const hooks = { dev, free: freeHandle, hostOp: () => ran.host++ }
      return handles(inputs)
        .then(([y]) => cholQr2(hooks, y, m, l))
        .then((h) => track({ size: n, dev: h }))
    }
    const hk = hostKernels[call.op]
    if (hk && !OPS.has(call.op)) {
      ran.host++
      return runOnHost(hk, call, inputs)
    }
    const spec = tiled && TILED_OPS.has(call.op) ? gemmSpec(call) : undefined
    if (spec) {
      ran.tiled++
      return handles(inputs)
        .then(([a, b]) => dev.gemm(spec, a, b, n))
        .then((h) => track({ size: n, dev: h }))
    }
    ran.gpujs++
    const first = gpuKernelSource(call, { vec4, exactAbove })
    const stages: KernelSource[] = []
    for (let ks: KernelSource | undefined = first; ks; ks = ks.next) stages.push(ks)
    const sizes = [call.inShapes.map(sizeOf), ...stages.slice(0, -1).map((ks) => [ks.size * (ks.vec ?? 1)])]
    const ks = stages.map((st, j) =>
      compile(st, `${st.source}|${st.size}|${st.vec ?? 1}|${sizes[j].join(',')}|${JSON.stringify(st.views ?? [])}`),
    )
    if (mode === 'webasm') {
      let args: unknown[] = inputs.map((b) => b.host)
      for (let j = 0; j < stages.length; j++) {
        // arguments read through a 3-D view are handed to gpu.js with that size
        const viewed = args.map((a, k) => (stages[j].views?.[k] ? new Input(a as any, stages[j].views![k] as any) : a))
        args = [flat(ks[j](...viewed), stages[j])]
      }
      const out = args[0] as Float32Array
      if (out.length !== n) throw new Error(`gpu backend: kernel '${call.op}' wrote ${out.length} values for shape ${fmt(call.outShape)}`)
      return track({ size: n, host: out })
    }
    return handles(inputs).then(async (hs) => {
      let args = hs
      let h: DeviceHandle | undefined
      for (let j = 0; j < stages.length; j++) {
        const st = stages[j]
        // gpu.js reads an argument's dims from its handle at call time: label each as the kernel reads it
        for (let k = 0; k < args.length; k++) label(args[k], st.views?.[k] ?? [sizes[j][k]])
        const next = await (ks[j](...args) as Promise<DeviceHandle>)
        // gpu.js writes every cell of its output: a size mismatch is the one way to leave values unwritten
        if (next.output.reduce((acc, d) => acc * d, 1) * next.componentCount !== st.size * (st.vec ?? 1))
          throw new Error(
            `gpu backend: kernel '${call.op}' produced ${next.output.join('x')}x${next.componentCount} values for ${st.size * (st.vec ?? 1)}`,
          )
        label(next, [st.size * (st.vec ?? 1)])
        // the buffer dies once the queue is done with it (WebGPU defers destroy past submitted work)
        if (h) freeHandle(h)
        h = next
        args = [next]
      }
      if (!h || h.output[0] !== n)
        throw new Error(`gpu backend: op '${call.op}' produced ${h?.output[0]} values for shape ${fmt(call.outShape)}`)
      return track({ size: n, dev: h })
    })
  }

  const release = (b: GpuBuffer): void => {
    if (!live.delete(b)) return
    if (b.dev) freeHandle(b.dev)
    else if (b.pending) void b.pending.then(freeHandle)
  }

  /** A kernel binds at most MAX_INPUTS buffers: longer concats run as a chain of concats. */
  const exec = (call: KernelCall, inputs: readonly GpuBuffer[]): GpuBuffer | Promise<GpuBuffer> => {
    if (call.op !== 'concat' || inputs.length <= MAX_INPUTS) return run1(call, inputs)
    const axis = call.attrs.axis as number
    const head = call.inShapes.slice(0, MAX_INPUTS)
    const headShape = head[0].map((d, i) => (i === axis ? head.reduce((acc, s) => acc + s[axis], 0) : d))
    const tmp = run1({ ...call, inShapes: head, outShape: headShape }, inputs.slice(0, MAX_INPUTS))
    const rest = (t: GpuBuffer) => {
      const out = exec({ ...call, inShapes: [headShape, ...call.inShapes.slice(MAX_INPUTS)] }, [t, ...inputs.slice(MAX_INPUTS)])
      if (out instanceof Promise)
        return out.then((o) => {
          release(t)
          return o
        })
      release(t)
      return out
    }
    return tmp instanceof Promise ? tmp.then(rest) : rest(tmp)
  }

  return {
    name: 'gpu',
    mode,
    sync: mode === 'webasm',
    has: (op) => op.elementwise !== undefined || OPS.has(op.name) || op.name in hostKernels,
    maxKernelInputs: MAX_INPUTS,
    deviceMemory: mode === 'webgpu',
    upload,
    exec,
    read,
    release,
    tiled,
    stats: () => ({ liveBuffers: live.size, compiledKernels: kernels.size + dev.pipelines() }),
    deviceStats: () => {
      const buffers = dev.recycling()
      return { ...dev.counters, readSizes: { ...dev.counters.readSizes }, ran: { ...ran }, ...(buffers ? { buffers } : {}) }
    },
    dispose: () => {
      for (const k of kernels.values()) k.destroy()
      kernels.clear()
      gpu.destroy()
    },
  }
}
