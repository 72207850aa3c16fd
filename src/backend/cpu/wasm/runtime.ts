/**
 * The WASM SIMD runtime of the cpu backend: one shared WebAssembly.Memory, the kernel instance of the
 * calling thread, and a pool of workers (Node worker threads, or browser Workers in a cross-origin isolated
 * page) that instantiate the same module over the same memory. Dispatch is synchronous (Atomics.wait on the
 * calling thread), so `runSync` stays sync; a browser's main thread may not block, so there the runtime
 * is unavailable and the cpu backend uses its JS kernels (run training in a Worker to get the pool).
 *
 * The runtime is a process resource (threads, like a BLAS thread pool), created lazily once and shared by
 * every cpu backend. Its memory also holds the resident blocks of the cpu backends (`block`/`free`): kernel
 * outputs live there, so the next kernel reads them in place instead of copying them in. Blocks come in
 * size classes (a quarter-octave apart) with one free list per class; memory only grows, up to 2 GiB, after
 * which `block` answers undefined and callers fall back to ordinary arrays.
 */
import { kernelsRelaxedWasmBase64, kernelsWasmBase64 } from './kernels.wasm.ts'
import { browserWorkerSource, workerSource } from './worker-source.ts'

/** The kernel module's exports (pointers are byte offsets into the shared memory). */
export interface KernelExports {
  gemmScratchBytes(): number
  gemm(
    m: number,
    n: number,
    k: number,
    a: number,
    rsA: number,
    csA: number,
    b: number,
    rsB: number,
    csB: number,
    c: number,
    ldc: number,
    scratch: number,
  ): void
  im2col(...args: number[]): void
  col2im(...args: number[]): void
  convRows(...args: number[]): void
  dwPart(...args: number[]): void
  convImplicit(...args: number[]): void
  sumParts(...args: number[]): void
  ew(prog: number, out: number, e0: number, e1: number, regs: number): void
  ewRegBytes(nIn: number, nSteps: number): number
  sumRows(x: number, inner: number, r0: number, r1: number, part: number): void
  sumPartsF64(parts: number, n: number, inner: number, out: number, e0: number, e1: number): void
  maxPoolRows(...args: number[]): void
  maxPoolBackImages(...args: number[]): void
  gramPack(...args: number[]): void
  gramPack4(...args: number[]): void
  gramSyrk(...args: number[]): void
  gramThin(...args: number[]): void
}

/** Kernel op codes shared with the worker source. */
export const OP = {
  gemm: 1,
  im2col: 2,
  col2im: 3,
  convRows: 4,
  dwPart: 5,
  sumParts: 6,
  convImplicit: 7,
  ew: 8,
  sumRows: 9,
  sumPartsF64: 10,
  maxPoolRows: 11,
  maxPoolBackImages: 12,
  gramPack: 13,
  gramPack4: 14,
  gramSyrk: 15,
  gramThin: 16,
} as const
/** One kernel invocation: op code and its integer arguments (gemm/convRows: without scratch, the thread adds its own). */
export type Job = readonly [op: number, ...args: number[]]

export interface WasmRuntime {
  readonly exports: KernelExports
  /** Whether this runtime runs the relaxed-SIMD build (fused multiply-add in the GEMM). */
  readonly relaxed: boolean
  /** Threads including the caller (1 when workers are unavailable or not started yet). */
  readonly threads: () => number
  /** Reserves `bytes` (16-aligned) of call-local memory after the scratch areas; `reset` frees all of it. */
  readonly alloc: (bytes: number) => number
  readonly reset: () => void
  /** A Float32Array view of `n` floats at byte offset `ptr`. */
  readonly f32: (ptr: number, n: number) => Float32Array
  /** A resident block of `n` floats (contents unspecified) until `free`; undefined when memory is exhausted. */
  readonly block: (n: number) => Float32Array | undefined
  /** Returns a block to its free list; false (and nothing done) when `v` is not a live block of this runtime. */
  readonly free: (v: Float32Array) => boolean
  /** The byte offset of a live block, or undefined for any other array (freed blocks included). */
  readonly resident: (v: Float32Array) => number | undefined
  /** Bytes of memory in use by blocks, held free, and in total. */
  readonly memoryStats: () => { readonly live: number; readonly free: number; readonly total: number }
  /**
   * Runs jobs on the caller and the ready workers (each claims the next unclaimed job) and waits for all.
   * `localBytes`: a private buffer per thread for this call (dwPart's im2col slice).
   */
  readonly parallel: (jobs: readonly Job[], localBytes?: number) => void
}

const PAGE = 65536
/** Call-local chunk size: most calls fit one chunk, reused call after call. */
const CHUNK = 8 << 20

/** The size class of a request: 64 bytes at least, else the next of 4, 5, 6, 7 × 2^k. */
export const sizeClass = (bytes: number): number => {
  if (bytes <= 64) return 64
  const p = 2 ** Math.floor(Math.log2(bytes - 1))
  const q = p / 4
  return Math.ceil(bytes / q) * q
}
const BASE = 1 << 16 // AssemblyScript's own (unused: runtime stub, no statics) low memory
/**
 * Control words (shared with the worker source): a round number, the next-job word (round << 20 | index, claimed
 * by compare-and-swap and closed while a round's table is written, so a thread still in an old round can never
 * claim a new round's job), job count, jobs done, the failed job (its index + 1; 0: none), the per-thread local
 * buffers of this call (thread k: base + k · bytes), per-worker ready flags, then a job table of JOB_INTS words per job.
 */
export const CTRL = {
  seq: 0,
  next: 1,
  count: 2,
  done: 3,
  err: 4,
  localBase: 5,
  localBytes: 6,
  ready: 8,
  jobs: 16,
  jobInts: 32,
  maxJobs: 64,
} as const

const decode = (b64: string): Uint8Array => {
  const g = globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }
  if (g.Buffer) return new Uint8Array(g.Buffer.from(b64, 'base64'))
  const s = atob(b64)
  const u = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i)
  return u
}

const callJob = (e: KernelExports, ctrl: Int32Array, b: number, scratch: number, local: number): void => {
  const op = ctrl[b]
  const a = Array.from(ctrl.subarray(b + 1, b + CTRL.jobInts))
  if (op === OP.gemm) e.gemm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], scratch)
  else if (op === OP.im2col) e.im2col(...a.slice(0, 15))
  else if (op === OP.col2im) e.col2im(...a.slice(0, 15))
  else if (op === OP.convRows) e.convRows(...a.slice(0, 19), scratch)
  else if (op === OP.dwPart) e.dwPart(...a.slice(0, 17), local, scratch)
  else if (op === OP.sumParts) e.sumParts(...a.slice(0, 6))
  else if (op === OP.convImplicit) e.convImplicit(...a.slice(0, 18), scratch)
  else if (op === OP.ew) e.ew(a[0], a[1], a[2], a[3], a[4])
  else if (op === OP.sumRows) e.sumRows(a[0], a[1], a[2], a[3], a[4])
  else if (op === OP.sumPartsF64) e.sumPartsF64(a[0], a[1], a[2], a[3], a[4], a[5])
  else if (op === OP.maxPoolRows) e.maxPoolRows(...a.slice(0, 15))
  else if (op === OP.maxPoolBackImages) e.maxPoolBackImages(...a.slice(0, 16))
  else if (op === OP.gramPack) e.gramPack(...a.slice(0, 8))
  else if (op === OP.gramPack4) e.gramPack4(...a.slice(0, 8))
  else if (op === OP.gramSyrk) e.gramSyrk(...a.slice(0, 6))
  else if (op === OP.gramThin) e.gramThin(...a.slice(0, 8))
  else throw new Error(`wasm runtime: unknown op ${op}`)
}

/**
 * The error for job `i` of `n` that a worker failed to run (its exception stays in the worker): the job is run
 * again on the calling thread, so the message says whether it fails anywhere (and how) or only on the worker.
 */
const workerFailure = (e: KernelExports, ctrl: Int32Array, i: number, n: number, scratch: number): Error => {
  const b = CTRL.jobs + i * CTRL.jobInts
  const name = Object.keys(OP).find((k) => OP[k as keyof typeof OP] === ctrl[b]) ?? `op ${ctrl[b]}`
  let again: string
  try {
    callJob(e, ctrl, b, scratch, ctrl[CTRL.localBase])
    again = 'ran without error on the calling thread'
  } catch (err) {
    again = `fails on the calling thread too: ${err instanceof Error ? err.message : String(err)}`
  }
  return new Error(`wasm runtime: a worker failed running kernel '${name}' (job ${i + 1} of ${n}); the same job ${again}`)
}

/**
 * Claims and runs jobs of `round` until none is left (the same loop runs in every worker). A job that throws is
 * still counted done, and the first error is returned, not thrown: the caller waits for the workers' jobs of the
 * round to finish before it throws (a worker still counting a job of this round into the next one would let that
 * one end early).
 */
const drain = (e: KernelExports, ctrl: Int32Array, round: number, scratch: number): unknown => {
  let error: unknown
  for (;;) {
    const w = Atomics.load(ctrl, CTRL.next)
    if (w >>> 20 !== round) return error
    const i = w & 0xfffff
    const n = Atomics.load(ctrl, CTRL.count)
    if (i >= n) return error
    if (Atomics.compareExchange(ctrl, CTRL.next, w, w + 1) !== w) continue
    try {
      callJob(e, ctrl, CTRL.jobs + i * CTRL.jobInts, scratch, ctrl[CTRL.localBase])
    } catch (err) {
      error ??= err
    } finally {
      if (Atomics.add(ctrl, CTRL.done, 1) + 1 === n) Atomics.notify(ctrl, CTRL.done)
    }
  }
}

type WorkerCtor = new (src: string, opts: object) => { unref(): void; on(ev: string, f: (...a: unknown[]) => void): void }
/** Starts one kernel worker with its data; `onError` marks the pool dead. */
type Spawn = (data: object, onError: () => void) => void

/** Node's Worker constructor, without a static import (the browser bundle must not see node:). */
const nodeWorker = (): WorkerCtor | undefined => {
  const p = (globalThis as { process?: { getBuiltinModule?: (m: string) => { Worker?: WorkerCtor } } }).process
  return p?.getBuiltinModule?.('node:worker_threads')?.Worker
}

/** Whether the host validates the relaxed-SIMD build (Node ≥ 22, current browsers; Node 20 only with --experimental-wasm-relaxed-simd). */
export const relaxedSimdAvailable = (): boolean => {
  try {
    return WebAssembly.validate(decode(kernelsRelaxedWasmBase64) as BufferSource)
  } catch {
    return false
  }
}

type BrowserWorker = { onerror: unknown; postMessage(data: unknown): void }
/** Node worker threads, else browser Workers from a Blob URL (shared memory needs a cross-origin isolated page). */
const spawner = (): Spawn | undefined => {
  const NodeWorker = nodeWorker()
  if (NodeWorker)
    return (workerData, onError) => {
      const w = new NodeWorker(workerSource, { eval: true, execArgv: [], workerData })
      w.unref()
      w.on('error', onError)
    }
  const g = globalThis as { Worker?: new (url: string) => BrowserWorker; crossOriginIsolated?: boolean }
  if (typeof g.Worker !== 'function' || !g.crossOriginIsolated) return undefined
  const url = URL.createObjectURL(new Blob([browserWorkerSource], { type: 'text/javascript' }))
  const BrowserWorkerCtor = g.Worker
  return (data, onError) => {
    const w = new BrowserWorkerCtor(url)
    w.onerror = onError
    w.postMessage(data)
  }
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
const canBlock = (): boolean => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Creates a runtime with up to `threads` threads (default: available parallelism, at most 8). `relaxed`:
 * the relaxed-SIMD build (default: when the host has it; GEMM results then differ from the baseline build
 * by the rounding of a fused multiply-add, within the parity tolerances).
 */
export const createWasmRuntime = (threads?: number, opts: { readonly relaxed?: boolean } = {}): WasmRuntime => {
  const relaxed = opts.relaxed ?? relaxedSimdAvailable()
  if (relaxed && !relaxedSimdAvailable()) throw new Error('createWasmRuntime: relaxed: true, but this host has no relaxed SIMD')
  const module = new WebAssembly.Module(decode(relaxed ? kernelsRelaxedWasmBase64 : kernelsWasmBase64) as BufferSource)
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 32768, shared: true })
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports
  const scratchBytes = (exports.gemmScratchBytes() + 63) & ~63
  const os = (
    globalThis as { process?: { getBuiltinModule?: (m: string) => { availableParallelism?: () => number } } }
  ).process?.getBuiltinModule?.('node:os')
  const spawn = spawner()
  const cores =
    os?.availableParallelism?.() ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
  const want = Math.max(1, Math.min(8, threads ?? cores ?? 1))
  const nWorkers = spawn ? want - 1 : 0
  const ctrl = new Int32Array(new SharedArrayBuffer((CTRL.jobs + CTRL.maxJobs * CTRL.jobInts) * 4))
  const heap0 = BASE + want * scratchBytes
  const ensure = (end: number) => {
    const have = memory.buffer.byteLength
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE))
  }
  ensure(heap0)
  let dead = false
  for (let w = 0; w < nWorkers; w++) {
    const scratch = BASE + (w + 1) * scratchBytes
    spawn!({ module, memory, ctrl: ctrl.buffer, id: w, scratch }, () => {
      dead = true
    })
  }
  const ready = () => {
    if (dead) return 0
    let n = 0
    for (let w = 0; w < nWorkers; w++) n += Atomics.load(ctrl, CTRL.ready + w)
    return n
  }
  // blocks: bump allocation at `brk` plus a free list per size class
  let brk = heap0
  const freeLists = new Map<number, number[]>()
  const live = new Map<number, number>() // ptr → class bytes
  let liveBytes = 0
  let freeBytes = 0
  const grab = (bytes: number): number | undefined => {
    const c = sizeClass(bytes)
    const l = freeLists.get(c)
    let p = l?.pop()
    if (p !== undefined) freeBytes -= c
    else {
      p = brk
      try {
        ensure(brk + c)
      } catch {
        return undefined // memory.grow failed: at the 2 GiB maximum or out of host memory
      }
      brk += c
    }
    live.set(p, c)
    liveBytes += c
    return p
  }
  const release = (p: number): boolean => {
    const c = live.get(p)
    if (c === undefined) return false
    live.delete(p)
    liveBytes -= c
    freeBytes += c
    const l = freeLists.get(c)
    if (l) l.push(p)
    else freeLists.set(c, [p])
    return true
  }
  // the call-local heap: chunks taken from the blocks, all given back by reset
  const chunks: number[] = []
  let top = 0
  let end = 0
  const alloc = (bytes: number) => {
    const b = (bytes + 63) & ~63
    if (top + b > end) {
      const size = Math.max(CHUNK, b)
      const p = grab(size)
      if (p === undefined) throw new Error(`wasm runtime: out of memory for ${bytes} bytes of kernel scratch`)
      chunks.push(p)
      top = p
      end = p + sizeClass(size)
    }
    const p = top
    top += b
    return p
  }
  const views = new WeakMap<Float32Array, number>()
  // blocks whose view was dropped without `free` (a run that threw) go back to their free list
  const orphans = new FinalizationRegistry<number>((p) => release(p))
  let round = 0
  const parallel = (jobs: readonly Job[], localBytes = 0) => {
    const lb = (localBytes + 63) & ~63
    ctrl[CTRL.localBase] = lb ? alloc(want * lb) : 0
    ctrl[CTRL.localBytes] = lb
    for (let j0 = 0; j0 < jobs.length; j0 += CTRL.maxJobs) {
      const batch = jobs.slice(j0, j0 + CTRL.maxJobs)
      round = (round + 1) & 0x7ff
      // claims closed first (an index past any count): a worker still in its claim loop from the last round (it may
      // be descheduled right after counting its last job) must not claim a job of this round while the table and
      // COUNT are rewritten; it would run that job twice and count DONE once too often, so this call could return
      // before every job had finished
      Atomics.store(ctrl, CTRL.next, (round << 20) | 0xfffff)
      batch.forEach((job, i) => {
        const b = CTRL.jobs + i * CTRL.jobInts
        for (let k = 0; k < job.length; k++) ctrl[b + k] = job[k]
      })
      Atomics.store(ctrl, CTRL.done, 0)
      Atomics.store(ctrl, CTRL.err, 0)
      Atomics.store(ctrl, CTRL.count, batch.length)
      Atomics.store(ctrl, CTRL.next, round << 20)
      if (batch.length > 1 && ready() > 0) {
        Atomics.store(ctrl, CTRL.seq, round)
        Atomics.notify(ctrl, CTRL.seq)
      }
      const mine = drain(exports, ctrl, round, BASE)
      for (let d = Atomics.load(ctrl, CTRL.done); d < batch.length; d = Atomics.load(ctrl, CTRL.done)) Atomics.wait(ctrl, CTRL.done, d, 100)
      if (mine !== undefined) throw mine
      const failed = Atomics.load(ctrl, CTRL.err)
      if (failed !== 0) throw workerFailure(exports, ctrl, failed - 1, batch.length, BASE)
    }
  }
  return {
    exports,
    relaxed,
    threads: () => 1 + ready(),
    alloc,
    reset: () => {
      for (const p of chunks) release(p)
      chunks.length = 0
      top = end = 0
    },
    f32: (ptr, n) => new Float32Array(memory.buffer, ptr, n),
    block: (n) => {
      const p = grab(n * 4)
      if (p === undefined) return undefined
      const v = new Float32Array(memory.buffer, p, n)
      views.set(v, p)
      orphans.register(v, p, v)
      return v
    },
    free: (v) => {
      const p = views.get(v)
      if (p === undefined || !release(p)) return false
      views.delete(v)
      orphans.unregister(v)
      return true
    },
    resident: (v) => views.get(v),
    memoryStats: () => ({ live: liveBytes, free: freeBytes, total: memory.buffer.byteLength }),
    parallel,
  }
}

/** Whether this host can run the kernels: shared WebAssembly memory (SharedArrayBuffer), SIMD, and a thread that may block. */
export const wasmAvailable = (): boolean => {
  try {
    return typeof SharedArrayBuffer === 'function' && canBlock() && WebAssembly.validate(decode(kernelsWasmBase64) as BufferSource)
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
