/**
 * The float32 CPU backend. Elementwise kernels are generated from each op's formula into tight loops
 * (compiled once per formula and broadcast pattern); reductions and matmul have cache-friendly paths.
 * The GEMM-class kernels (matmul, conv2d and its gradients) run as WASM SIMD on a worker pool when the
 * host has shared WebAssembly memory; the JS matmul stays as the fallback (e.g. browsers that are not
 * cross-origin isolated).
 */
import { matmulDims } from '../geometry.ts'
import type { HostTensor } from '../../tensor/host.ts'
import { type Shape, sizeOf } from '../../tensor/shape.ts'
import type { Backend, HostKernel, KernelCall } from '../backend.ts'
import { type ArrayCtor, hostBackend } from '../host/backend.ts'
import { linalgKernels } from '../host/linalg-kernels.ts'
import { concatFast, sliceFast } from './movement.ts'
import { type ChainRunner, elementwiseKernel, fusedKernel, suffixPeriod, tile } from './elementwise.ts'
import { ewWasm, sumWasm } from './wasm/elementwise.ts'
import { maxPoolBackWasm, maxPoolWasm } from './wasm/pool.ts'
import { refKernels } from '../ref/kernels.ts'
import { cpuConvKernels } from './conv.ts'
import { cpuPoolKernels } from './pool.ts'
import { type Alloc, bufferPool, freshAlloc } from './pool-alloc.ts'
import { wasmAvailable, wasmRuntime } from './wasm/runtime.ts'
import { wasmKernels } from './wasm/kernels.ts'
import { gramWasmKernel } from './wasm/gram.ts'
import { residency } from './resident.ts'

type F = Float32Array
/** Host inputs at least this long are copied into a resident block once, not once per WASM kernel that reads them. */
const UPLOAD_BLOCK_MIN = 1024

/** broadcastTo: memcpy tiling for the repeated-block pattern, the generic kernel otherwise. */
const broadcastToFast =
  (fallback: HostKernel<F>) =>
  (ins: readonly F[], call: KernelCall, alloc: Alloc = freshAlloc): F => {
    const m = suffixPeriod(call.inShapes[0], call.outShape)
    return m === undefined ? fallback(ins, call) : tile(ins[0], m, sizeOf(call.outShape), alloc)
  }

/** [outer, r, inner] view of a reduction over contiguous axes, or undefined. */
const contiguous = (s: Shape, axes: readonly number[]): [number, number, number] | undefined => {
  if (axes.length === 0) return [sizeOf(s), 1, 1]
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return undefined
  const a0 = axes[0]
  const a1 = axes[axes.length - 1]
  return [sizeOf(s.slice(0, a0)), sizeOf(s.slice(a0, a1 + 1)), sizeOf(s.slice(a1 + 1))]
}

/** A sum run elsewhere (WASM): writes out and returns true, or false to leave it to the JS loop. */
type SumRunner = (out: F, x: F, outer: number, r: number, inner: number) => boolean

const reduceFast =
  (isMax: boolean, fallback: HostKernel<F>, alloc: Alloc = freshAlloc, runner?: SumRunner): HostKernel<F> =>
  (ins, call) => {
    const v = contiguous(call.inShapes[0], call.attrs.axes as number[])
    if (!v) return fallback(ins, call)
    const [outer, r, inner] = v
    const x = ins[0]
    const out = alloc(outer * inner)
    // long sums over few output rows (batch norm's N·H·W sums) go to the runner; it accumulates in float64 too
    if (!isMax && runner && outer <= 16 && r * inner >= 1 << 14 && runner(out, x, outer, r, inner)) return out
    // accumulate in float64 for long sums (parity with ref on long reductions)
    const acc = new Float64Array(inner)
    for (let o = 0; o < outer; o++) {
      acc.fill(isMax ? -Infinity : 0)
      if (isMax)
        for (let k = 0; k < r; k++) {
          const base = (o * r + k) * inner
          for (let i = 0; i < inner; i++) acc[i] = Math.max(x[base + i], acc[i])
        }
      else {
        // four rows per pass: a quarter of the accumulator loads and stores (batch norm's N·H·W sums)
        let k = 0
        for (; k + 4 <= r; k += 4) {
          const b0 = (o * r + k) * inner
          const b1 = b0 + inner
          const b2 = b1 + inner
          const b3 = b2 + inner
          for (let i = 0; i < inner; i++) acc[i] += x[b0 + i] + x[b1 + i] + (x[b2 + i] + x[b3 + i])
        }
        for (; k < r; k++) {
          const base = (o * r + k) * inner
          for (let i = 0; i < inner; i++) acc[i] += x[base + i]
        }
      }
      for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i]
    }
    return out
  }

/**
 * float32 GEMM in plain JS, batched (the fallback without shared WASM memory). Operands are first laid out so that the inner loop is contiguous:
 * narrow outputs (n < 32, e.g. sketches and Gram panels) use dot-product order over k with A row-major and
 * B as n × k; wide outputs use i-k-j order with B as k × n. Accumulation is in float64.
 */
const matmul: HostKernel<F> = ([a, b], call: KernelCall) => {
  const { m, n, k, batch, transA, transB } = matmulDims(call)
  const out = new Float32Array(batch * m * n)
  const dotOrder = n < 32
  const at = transA ? new Float32Array(m * k) : undefined
  // dot order wants B as n × k (the transB layout), i-k-j order wants k × n
  const bt = dotOrder !== transB ? new Float32Array(k * n) : undefined
  const row = new Float64Array(n)
  for (let t = 0; t < batch; t++) {
    let A = a.subarray(t * m * k, (t + 1) * m * k)
    if (at) {
      for (let p = 0; p < k; p++) for (let i = 0; i < m; i++) at[i * k + p] = A[p * m + i]
      A = at
    }
    let B = b.subarray(t * k * n, (t + 1) * k * n)
    if (bt) {
      if (dotOrder) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = B[p * n + j]
      else for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) bt[p * n + j] = B[j * k + p]
      B = bt
    }
    const oo = t * m * n
    if (dotOrder) {
      for (let i = 0; i < m; i++) {
        const ao = i * k
        for (let j = 0; j < n; j++) {
          const bo = j * k
          let s = 0
          for (let p = 0; p < k; p++) s += A[ao + p] * B[bo + p]
          out[oo + i * n + j] = s
        }
      }
      continue
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) row[j] = 0
      const ao = i * k
      for (let p = 0; p < k; p++) {
        const av = A[ao + p]
        if (av === 0) continue
        const bo = p * n
        for (let j = 0; j < n; j++) row[j] += av * B[bo + j]
      }
      const o = oo + i * n
      for (let j = 0; j < n; j++) out[o + j] = row[j]
    }
  }
  return out
}

const base = refKernels<F>(Float32Array as ArrayCtor<F>)
/** Kernels that take their output buffer from the backend's pool (each writes every output element). */
type PooledKernel = (ins: readonly F[], call: KernelCall, alloc: Alloc, runner?: ChainRunner) => F
const pooledKernels: Readonly<Record<string, PooledKernel>> = {
  ...cpuPoolKernels,
  elementwise: elementwiseKernel,
  broadcastTo: broadcastToFast(base.broadcastTo),
  fused: fusedKernel,
}
// linalg kernels compute in float64 internally; rcond 1e-3 is the σ floor of a float32 Gram matrix
const jsKernels: Readonly<Record<string, HostKernel<F>>> = {
  ...base,
  ...cpuConvKernels,
  ...linalgKernels<F>(Float32Array as ArrayCtor<F>, 1e-3),
  matmul,
  concat: concatFast,
  slice: sliceFast(base.slice),
  sum: reduceFast(false, base.sum),
  max: reduceFast(true, base.max),
}

export interface CpuBackendOptions {
  /**
   * GEMM-class kernels (matmul, conv2d and its gradients) as WASM SIMD on the worker pool. `'auto'`
   * (default): when the host has shared WebAssembly memory and threads. `false`: the plain-JS kernels,
   * which are what runs where WASM threads are not (a page that is not cross-origin isolated); tests
   * run both. `true`: WASM or an error.
   */
  readonly wasm?: boolean | 'auto'
  /** Kernels by op name that replace or add to the built-in ones (a name wins over the generated elementwise kernel). */
  readonly kernels?: Readonly<Record<string, HostKernel<F>>>
  /**
   * Bytes of untouched results kept resident in WASM memory before the oldest are copied out (default 256 MiB).
   * Raise it when a step's parameters and optimiser state are larger (a two-task ResNet-34 with Adam: about 1 GiB).
   */
  readonly residentBytes?: number
}

/**
 * The float32 CPU backend. With WASM, kernel outputs are resident blocks of the runtime's shared memory
 * (WASM kernels read them in place, no copy in or out); `read` copies a block out and `release` returns it.
 * Without WASM, each instance recycles the output buffers of its elementwise, fused, broadcast and pooling
 * kernels once the executor releases them (see pool-alloc.ts); buffers handed out by `read` are never reused.
 */
export const cpuBackend = (opts: CpuBackendOptions = {}): Backend<F> => {
  const useWasm = opts.wasm === undefined || opts.wasm === 'auto' ? wasmAvailable() : opts.wasm
  const cap = opts.residentBytes
  if (cap !== undefined && !(Number.isFinite(cap) && cap > 0))
    throw new RangeError(`cpuBackend: residentBytes must be a positive number of bytes, got ${cap}`)
  if (useWasm && !wasmAvailable())
    throw new Error('cpuBackend: wasm: true, but this host has no shared WebAssembly memory with SIMD and threads')
  const pool = bufferPool()
  const rt = useWasm ? wasmRuntime() : undefined
  const alloc: Alloc = rt ? (n) => rt.block(n) ?? pool.alloc(n) : pool.alloc
  const runner: ChainRunner | undefined = rt && ((out, xs, kinds, m, steps) => ewWasm(rt, out, xs, kinds, m, steps))
  const pooled = Object.fromEntries(
    Object.entries(pooledKernels).map(([k, f]) => [k, (ins: readonly F[], call: KernelCall) => f(ins, call, alloc, runner)]),
  )
  const wasmPool: Record<string, HostKernel<F>> = rt
    ? {
        maxPool: (ins, call) => maxPoolWasm(rt, ins[0], call) ?? cpuPoolKernels.maxPool(ins, call, alloc),
        maxPoolBack: (ins, call) => maxPoolBackWasm(rt, ins[0], ins[1], call) ?? cpuPoolKernels.maxPoolBack(ins, call, alloc),
        gram: gramWasmKernel(rt),
      }
    : {}
  // resident outputs for the sums too, so the next kernel reads them in place
  const sums: Record<string, HostKernel<F>> = rt
    ? { sum: reduceFast(false, base.sum, alloc, (out, x, o, r, i) => sumWasm(rt, out, x, o, r, i)) }
    : {}
  const be = hostBackend(useWasm ? 'cpu' : 'cpu-js', Float32Array, {
    ...jsKernels,
    ...(useWasm ? wasmKernels : {}),
    ...sums,
    ...pooled,
    ...wasmPool,
    ...(opts.kernels ?? {}),
  })
  // results read back stay resident until touched (see resident.ts); large host inputs are copied in once per run
  const res = rt && residency((b) => rt.free(b), cap)
  return {
    ...be,
    upload: (t: HostTensor) => {
      const r = res?.upload(t)
      if (r) return r
      if (!rt || t.data.length < UPLOAD_BLOCK_MIN) return be.upload(t)
      const b = rt.block(t.data.length)
      if (!b) return be.upload(t)
      b.set(t.data)
      return b
    },
    read: (b: F, shape: Shape) => {
      if (rt?.resident(b) !== undefined) return res?.read(b, shape) ?? be.read(b.slice(), shape)
      pool.exported(b)
      return be.read(b, shape)
    },
    release: (b: F) => {
      be.release(b)
      if (res?.release(b)) return
      if (!rt?.free(b)) pool.release(b)
    },
    donate: (h: HostTensor) => {
      res?.donate(h)
    },
  }
}
