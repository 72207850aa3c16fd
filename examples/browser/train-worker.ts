/**
 * The demo's training worker: picks the fastest backend this browser offers, generates the faces, trains
 * every run one step per round on the same batches, and posts what the page draws. Training runs here, not
 * on the page, because the WASM worker pool blocks (Atomics.wait), which a page's main thread may not do.
 */
import { type Backend, cpuBackend, gpuBackend, probeWebGPU } from '../../src/index.ts'
import { wasmRuntime } from '../../src/backend/cpu/wasm/runtime.ts'
import { releaseState } from '../../src/train/step.ts'
import type { BackendChoice, FromWorker, ToWorker } from './protocol.ts'
import type { DemoConfig } from './config.ts'
import { evaluate, initRun, makeData, roundBatch, type Run } from './trainer.ts'

const post = (m: FromWorker): void => postMessage(m)
const fail = (e: unknown): void => post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
addEventListener('error', (e) => fail((e as ErrorEvent).error ?? (e as ErrorEvent).message))
addEventListener('unhandledrejection', (e) => fail((e as PromiseRejectionEvent).reason))

const isolationNote = () =>
  crossOriginIsolated
    ? 'page is cross-origin isolated (SharedArrayBuffer available)'
    : 'page is not cross-origin isolated, so no WASM worker pool (serve it with COOP/COEP headers: npm run demo)'

/** auto: gpu.js on WebGPU when an adapter answers, else the cpu backend (WASM pool when isolated, else plain JS). */
const pickBackend = async (choice: BackendChoice): Promise<{ backend: Backend<any>; label: string; notes: string[] }> => {
  const notes = [isolationNote()]
  if (choice === 'js') return { backend: cpuBackend({ wasm: false }), label: 'cpu: plain-JS kernels (chosen)', notes }
  if (choice === 'auto' || choice === 'gpu') {
    const probe = await probeWebGPU()
    notes.push(`WebGPU: ${probe.ok ? `adapter ${probe.detail}` : probe.detail}`)
    // a software adapter (SwiftShader, llvmpipe) runs WebGPU on the CPU, far slower than the WASM kernels
    const software = /swiftshader|llvmpipe|lavapipe|software/i.test(probe.detail)
    if (probe.ok && software && choice === 'auto') notes.push('a software WebGPU adapter: the cpu backend is faster')
    else if (probe.ok) return { backend: gpuBackend({ mode: 'webgpu' }), label: 'gpu: gpu.js on WebGPU', notes }
    if (choice === 'gpu')
      return { backend: gpuBackend({ mode: 'webasm' }), label: 'gpu: gpu.js WebAssembly kernels (no WebGPU adapter)', notes }
  }
  // wasm: WASM or a clear error; auto: WASM where the page is isolated, else the JS kernels
  const backend = cpuBackend({ wasm: choice === 'wasm' ? true : 'auto' })
  return { backend, label: backend.name === 'cpu' ? 'cpu: WASM SIMD kernels on a Worker pool' : 'cpu: plain-JS kernels', notes }
}

let stopping = false
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0))

const train = async (c: DemoConfig, choice: BackendChoice): Promise<void> => {
  const { backend, label, notes } = await pickBackend(choice)
  post({ type: 'backend', label, notes })
  const d = makeData(c)
  const show = Math.min(8, c.test)
  const px = c.size * c.size
  post({
    type: 'faces',
    size: c.size,
    a: { images: Float32Array.from(d.expr.test.x.data.subarray(0, show * px)), labels: Array.from(d.expr.test.y.data.subarray(0, show)) },
    b: { images: Float32Array.from(d.lm.test.x.data.subarray(0, show * px)), landmarks: d.testLandmarks.slice(0, show * 136) },
  })
  const report = async (r: Run) => {
    const e = await evaluate(r, d, backend)
    post({ type: 'eval', run: r.kind, step: r.state.step, ...e, expr: e.expr.slice(0, show), landmarks: e.landmarks.slice(0, show * 136) })
  }
  let runs = c.runs.map((k) => initRun(k, c, backend))
  for (const r of runs) await report(r)
  let round = 0
  for (; round < c.steps && !stopping; round++) {
    const batch = roundBatch(c, d, round)
    const t0 = performance.now()
    const next: Run[] = []
    for (const r of runs) {
      const s = await r.step(r.state, batch)
      // on WebGPU the state stays on the device: the old one is freed once the new one exists
      releaseState(r.state, s)
      next.push({ ...r, state: s })
      post({ type: 'step', run: r.kind, step: s.step, metrics: s.metrics })
    }
    runs = next
    const seconds = (performance.now() - t0) / 1000
    const threads = backend.name === 'cpu' ? wasmRuntime().threads() : 1
    post({ type: 'speed', imagesPerSecond: (2 * c.batch * runs.length) / seconds, threads })
    if ((round + 1) % c.evalEvery === 0) for (const r of runs) await report(r)
    await nextTask() // lets a 'stop' message in
  }
  if (round % c.evalEvery !== 0) for (const r of runs) await report(r)
  post({ type: 'done', reason: stopping ? 'stopped' : `${round} steps done` })
}

addEventListener('message', (ev: MessageEvent<ToWorker>) => {
  if (ev.data.type === 'stop') stopping = true
  else train(ev.data.config, ev.data.backend).catch(fail)
})
