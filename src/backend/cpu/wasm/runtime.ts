/**
 * The WASM SIMD runtime of the cpu backend: one shared WebAssembly.Memory, the kernel instance of the
 * calling thread, and (in Node) a pool of worker threads that instantiate the same module over the same
 * memory. Dispatch is synchronous (Atomics.wait on the calling thread), so `runSync` stays sync.
 *
 * The runtime is a process resource (threads, like a BLAS thread pool), created lazily once and shared by
 * every cpu backend; it holds no tensor state between calls (each kernel call copies in, runs, copies out).
 */
import { kernelsWasmBase64 } from './kernels.wasm.ts'
import { workerSource } from './worker-source.ts'

/** The kernel module's exports (pointers are byte offsets into the shared memory). */
export interface KernelExports {
  gemmScratchBytes(): number
  gemm(m: number, n: number, k: number, a: number, rsA: number, csA: number, b: number, rsB: number, csB: number, c: number, ldc: number, scratch: number): void
  im2col(...args: number[]): void
  col2im(...args: number[]): void
  convRows(...args: number[]): void
}

/** Kernel op codes shared with the worker source. */
export const OP = { gemm: 1, im2col: 2, col2im: 3, convRows: 4 } as const
/** Ops whose last argument is the thread's GEMM scratch (appended by `parallel`, not part of the job). */
const usesScratch = (op: number) => op === OP.gemm || op === OP.convRows
/** One kernel invocation: op code and its integer arguments (without scratch). */
export type Job = readonly [op: number, ...args: number[]]

export interface WasmRuntime {
  readonly exports: KernelExports
  /** Threads including the caller (1 when workers are unavailable or not started yet). */
  readonly threads: () => number
  /** Reserves `bytes` (16-aligned) of call-local memory after the scratch areas; `reset` frees all of it. */
  readonly alloc: (bytes: number) => number
  readonly reset: () => void
  /** A Float32Array view of `n` floats at byte offset `ptr` (valid until the next alloc). */
  readonly f32: (ptr: number, n: number) => Float32Array
  /** Runs jobs, one per thread (job i on thread i, job 0 on the caller), and waits for all. */
  readonly parallel: (jobs: readonly Job[]) => void
}

const PAGE = 65536
const SLOT = 32 // int32 control words per worker: seq, done, ready, error, op, 27 args
const BASE = 1 << 16 // AssemblyScript's own (unused: runtime stub, no statics) low memory

const decode = (b64: string): Uint8Array => {
  const g = globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }
  if (g.Buffer) return new Uint8Array(g.Buffer.from(b64, 'base64'))
  const s = atob(b64)
  const u = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i)
  return u
}

const callJob = (e: KernelExports, [op, ...a]: Job, scratch: number): void => {
  if (op === OP.gemm) e.gemm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], scratch)
  else if (op === OP.im2col) e.im2col(...a)
  else if (op === OP.col2im) e.col2im(...a)
  else if (op === OP.convRows) e.convRows(...a, scratch)
  else throw new Error(`wasm runtime: unknown op ${op}`)
}

type WorkerCtor = new (src: string, opts: object) => { unref(): void; on(ev: string, f: (...a: unknown[]) => void): void }

/** Node's Worker constructor, without a static import (the browser bundle must not see node:). */
const nodeWorker = (): WorkerCtor | undefined => {
  const p = (globalThis as { process?: { getBuiltinModule?: (m: string) => { Worker?: WorkerCtor } } }).process
  return p?.getBuiltinModule?.('node:worker_threads')?.Worker
}

/** Creates a runtime with up to `threads` threads (default: available parallelism, at most 8). */
export const createWasmRuntime = (threads?: number): WasmRuntime => {
  const module = new WebAssembly.Module(decode(kernelsWasmBase64) as BufferSource)
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 32768, shared: true })
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports
  const scratchBytes = (exports.gemmScratchBytes() + 63) & ~63
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => { availableParallelism?: () => number } } }).process?.getBuiltinModule?.('node:os')
  const Worker = nodeWorker()
  const want = Math.max(1, Math.min(8, threads ?? os?.availableParallelism?.() ?? 1))
  const nWorkers = Worker ? want - 1 : 0
  const ctrl = new Int32Array(new SharedArrayBuffer(Math.max(1, nWorkers) * SLOT * 4))
  const heap0 = BASE + want * scratchBytes
  let top = heap0
  const ensure = (end: number) => {
    const have = memory.buffer.byteLength
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE))
  }
  ensure(heap0)
  let dead = false
  for (let w = 0; w < nWorkers; w++) {
    const worker = new Worker!(workerSource, { eval: true, execArgv: [], workerData: { module, memory, ctrl: ctrl.buffer, id: w } })
    worker.unref()
    worker.on('error', () => {
      dead = true
    })
  }
  const ready = () => {
    if (dead) return 0
    let n = 0
    while (n < nWorkers && Atomics.load(ctrl, n * SLOT + 2) === 1) n++
    return n
  }
  const parallel = (jobs: readonly Job[]) => {
    const nw = Math.min(jobs.length - 1, ready())
    const seqs: number[] = []
    for (let w = 0; w < nw; w++) {
      const b = w * SLOT
      const job = jobs[w + 1]
      ctrl[b + 4] = job[0]
      for (let i = 1; i < job.length; i++) ctrl[b + 4 + i] = job[i]
      if (usesScratch(job[0])) ctrl[b + 4 + job.length] = BASE + (w + 1) * scratchBytes
      const s = (Atomics.load(ctrl, b) + 1) | 0
      seqs.push(s)
      Atomics.store(ctrl, b, s)
      Atomics.notify(ctrl, b)
    }
    callJob(exports, jobs[0], BASE)
    // jobs beyond the ready workers run here, in order (results do not depend on who runs a job)
    for (let j = nw + 1; j < jobs.length; j++) callJob(exports, jobs[j], BASE)
    for (let w = 0; w < nw; w++) {
      const b = w * SLOT
      while (Atomics.load(ctrl, b + 1) !== seqs[w]) Atomics.wait(ctrl, b + 1, Atomics.load(ctrl, b + 1), 50)
      if (ctrl[b + 3] !== 0) throw new Error(`wasm runtime: worker ${w} failed on op ${jobs[w + 1][0]}`)
    }
  }
  return {
    exports,
    threads: () => 1 + ready(),
    alloc: (bytes) => {
      const p = top
      top = (top + bytes + 15) & ~15
      ensure(top)
      return p
    },
    reset: () => {
      top = heap0
    },
    f32: (ptr, n) => new Float32Array(memory.buffer, ptr, n),
    parallel,
  }
}

/** Whether this host can run the kernels: shared WebAssembly memory (SharedArrayBuffer) and SIMD. */
export const wasmAvailable = (): boolean => {
  try {
    return typeof SharedArrayBuffer === 'function' && WebAssembly.validate(decode(kernelsWasmBase64) as BufferSource)
  } catch {
    return false
  }
}

let shared: WasmRuntime | undefined
/** The process-wide runtime (created on first use). */
export const wasmRuntime = (): WasmRuntime => {
  shared ??= createWasmRuntime()
  return shared
}
