/**
 * Backend selection: `createBackend('auto' | 'gpu' | 'cpu' | 'ref')` and `doctor()`, which says which
 * backends work here and why not. Async because asking WebGPU for an adapter is async.
 *
 * In Node, WebGPU comes from the `webgpu` package (Dawn): `installNodeWebGPU` puts its globals and a
 * `navigator.gpu` on globalThis, which is where gpu.js looks. That is a deliberate global side effect,
 * done only when a caller asks for `gpu`/`auto`, never on import.
 */
import { GPU } from 'gpu.js'
import type { Backend } from './backend.ts'
import { cpuBackend } from './cpu/index.ts'
import { wasmAvailable } from './cpu/wasm/runtime.ts'
import { gpuBackend } from './gpu/index.ts'
import { TILED_OPS } from './gpu/wgsl/ops.ts'
import { refBackend } from './ref/index.ts'

export type BackendName = 'auto' | 'gpu' | 'cpu' | 'ref'

/** Node's process, read through globalThis so that browser bundles never reference a free `process`. */
const nodeProcess = (): NodeJS.Process | undefined => {
  const p = (globalThis as { process?: NodeJS.Process }).process
  return p?.versions?.node ? p : undefined
}
const isNode = (): boolean => nodeProcess() !== undefined
const g = globalThis as any

/** Makes `navigator.gpu` available in Node from the `webgpu` package; resolves to why not, or undefined on success. */
export const installNodeWebGPU = async (): Promise<string | undefined> => {
  if (g.navigator?.gpu) return undefined
  if (!isNode()) return 'this browser has no navigator.gpu (WebGPU disabled or unsupported)'
  try {
    // a variable specifier keeps bundlers from inlining the native module into browser builds
    const name = 'webgpu'
    const { create, globals } = await import(/* @vite-ignore */ name)
    Object.assign(globalThis, globals)
    const gpu = create([])
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true })
    else g.navigator = { gpu }
    return undefined
  } catch (e) {
    return `the 'webgpu' package did not load: ${(e as Error).message}`
  }
}

/** Why no Vulkan driver is reachable on Linux (best effort), for doctor's message. */
const vulkanHint = async (): Promise<string> => {
  const proc = nodeProcess()
  if (proc?.platform !== 'linux') return ''
  try {
    const fs = proc.getBuiltinModule('node:fs') as typeof import('node:fs')
    const dirs = [
      ...(proc.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib64',
      '/usr/lib',
      '/lib/x86_64-linux-gnu',
    ]
    if (!dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`))) return ' (no Vulkan loader: libvulkan.so.1 not found)'
    const icds = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', ...(proc.env.VK_ICD_FILENAMES ? ['env'] : [])]
    if (!icds.some((d) => d === 'env' || (fs.existsSync(d) && fs.readdirSync(d).length > 0)))
      return ' (Vulkan loader present, but no driver manifest in /usr/share/vulkan/icd.d)'
    return ' (Vulkan present; the driver exposes no adapter Dawn accepts)'
  } catch {
    return ''
  }
}

/** Adapters that emulate a GPU on the CPU (Mesa llvmpipe/lavapipe, SwiftShader): correct, but slower than the cpu backend. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i

/**
 * Asks for a WebGPU adapter; `ok` with the adapter's description, or the reason there is none. `software`: the
 * adapter runs on the CPU (fine for testing the WGSL, never picked by `auto`).
 */
export const probeWebGPU = async (): Promise<{ readonly ok: boolean; readonly detail: string; readonly software?: boolean }> => {
  const why = await installNodeWebGPU()
  if (why) return { ok: false, detail: why }
  try {
    const adapter = await g.navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) return { ok: false, detail: `navigator.gpu.requestAdapter() returned null${await vulkanHint()}` }
    const info = adapter.info ?? {}
    const detail = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'adapter found'
    const software = !!(adapter.isFallbackAdapter || info.isFallbackAdapter) || SOFTWARE.test(detail)
    return { ok: true, detail: software ? `software adapter: ${detail}` : detail, software }
  } catch (e) {
    return { ok: false, detail: `requestAdapter failed: ${(e as Error).message}` }
  }
}

export interface CreateBackendOptions {
  /** Where the one-time notice goes when `gpu` falls back to webasm (default console.warn). */
  readonly warn?: (message: string) => void
}

/**
 * A backend by name. `auto`: gpu on WebGPU when a hardware adapter answers, else cpu. `gpu`: WebGPU (any adapter,
 * software ones included), or gpu.js's webasm mode with one warning naming the reason when there is no adapter.
 */
export const createBackend = async (name: BackendName, opts: CreateBackendOptions = {}): Promise<Backend<any>> => {
  switch (name) {
    case 'ref':
      return refBackend()
    case 'cpu':
      return cpuBackend()
    case 'gpu':
    case 'auto': {
      const probe = await probeWebGPU()
      if (probe.ok && !(name === 'auto' && probe.software)) return gpuBackend({ mode: 'webgpu' })
      if (name === 'auto') return cpuBackend()
      ;(opts.warn ?? console.warn)(`softshare: backend 'gpu' runs gpu.js in webasm mode (CPU): no WebGPU adapter: ${probe.detail}`)
      return gpuBackend({ mode: 'webasm' })
    }
    default:
      throw new Error(`createBackend: unknown backend '${String(name)}' (expected auto, gpu, cpu or ref)`)
  }
}

/** A synchronous backend by name (`cpu`, `ref`), for `runSync`. */
export const createSyncBackend = (name: BackendName): Backend<any> => {
  if (name === 'cpu') return cpuBackend()
  if (name === 'ref') return refBackend()
  throw new Error(`runSync: backend '${name}' is asynchronous; use run()`)
}

/** Which kernels the gpu backend runs on WebGPU, by family. */
const GPU_KERNELS =
  `tiled WGSL for ${[...TILED_OPS].join(', ')}; WGSL for eigh up to 16×16, the LAF Gram (double-float) and its 2×2 eigh, ` +
  'qr of tall panels (Cholesky-QR2, l×l factors on the host); gpu.js WGSL for elementwise/fused chains, reductions, pooling, shape ops, ' +
  'losses; host (read back, compute, upload) for small qr and larger eigh'

export interface DoctorLine {
  readonly backend: string
  readonly available: boolean
  readonly detail: string
}

/** Which backends work here, and why not; `auto` names the one `createBackend('auto')` picks. */
export const doctor = async (): Promise<readonly DoctorLine[]> => {
  const webgpu = await probeWebGPU()
  const wasm = GPU.isWebAssemblySupported
  return [
    { backend: 'ref', available: true, detail: 'float64 reference loops (tests, gradient checks)' },
    {
      backend: 'cpu',
      available: true,
      detail: wasmAvailable()
        ? 'float32; matmul/conv as WASM SIMD on a worker pool, other kernels as JavaScript loops'
        : 'float32 JavaScript kernels (no SharedArrayBuffer/WASM SIMD: no worker-pool GEMM)',
    },
    {
      backend: 'gpu (webgpu)',
      available: webgpu.ok,
      detail: webgpu.ok ? `${webgpu.detail}; kernels: ${GPU_KERNELS}` : webgpu.detail,
    },
    {
      backend: 'gpu (webasm)',
      available: wasm,
      detail: wasm
        ? 'gpu.js kernels (all ops, per-cell matmul/conv) compiled to WebAssembly SIMD on the CPU (what `gpu` runs without an adapter)'
        : 'WebAssembly is not available',
    },
    {
      backend: 'auto',
      available: true,
      detail: !webgpu.ok
        ? 'picks cpu (no WebGPU adapter)'
        : webgpu.software
          ? 'picks cpu (the only adapter is a software one)'
          : 'picks gpu (webgpu)',
    },
  ]
}

/** doctor() as a printable table. */
export const formatDoctor = (lines: readonly DoctorLine[]): string =>
  lines.map((l) => `${l.available ? 'yes' : 'no '}  ${l.backend.padEnd(13)} ${l.detail}`).join('\n')
