/**
 * Benchmarks. `npm run bench -- cpu`: GEMM-class kernels and a ResNet-18 training step, softshare's cpu
 * backend side by side with TensorFlow.js (wasm backend), gpu.js (webasm mode) and plain JS, in one process.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { wasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { benchKernels, benchOneCore, kernelTable } from './cpu/kernels.ts'
import { benchResNet, resnetTable } from './cpu/resnet.ts'
import { loadTfjsWasm } from './cpu/tfjs.ts'
import { loadTorch } from './cpu/torch.ts'

/** The `Model name:` line of lscpu (the cpus() model string can differ), or a note that lscpu is absent. */
const lscpuModel = (): string => {
  const r = spawnSync('lscpu', { encoding: 'utf8' })
  return r.stdout?.match(/^Model name:\s*(.*)$/m)?.[1] ?? '(lscpu unavailable)'
}

const which = process.argv[2] ?? 'cpu'
if (which !== 'cpu') {
  console.error(`bench: unknown suite '${which}' (available: cpu)`)
  process.exit(2)
}
const t0 = performance.now()
const log = (s: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`)
const rt = wasmRuntime()
for (let i = 0; i < 300 && rt.threads() < availableParallelism(); i++) await new Promise((r) => setTimeout(r, 10))
const tf = await loadTfjsWasm()
const torchOrWhy = await loadTorch(2)
const torch = typeof torchOrWhy === 'string' ? undefined : torchOrWhy
console.log(`# softshare cpu benchmark, ${new Date().toISOString()}`)
console.log(
  `machine: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )}; node ${process.version}; softshare threads ${rt.threads()}, ${rt.relaxed ? 'relaxed-SIMD (FMA) build' : 'baseline SIMD build (no relaxed SIMD in this runtime; Node 20: --experimental-wasm-relaxed-simd)'}; tfjs ${tf.version_core} wasm (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})`,
)
console.log(`PyTorch: ${torch ? torch.version : torchOrWhy}`)
console.log(`lscpu model line: ${lscpuModel()}`)
console.log('contenders interleaved call by call (A B C … A B C …); figures are medians')
console.log()
// BENCH_ONE_CORE=1: only the per-core table (e.g. to compare the relaxed-SIMD build per thread without the slow contenders)
const oneCoreOnly = process.env.BENCH_ONE_CORE === '1'
if (!oneCoreOnly) console.log(kernelTable(await benchKernels(tf, torch, log)))
console.log()
if (!process.env.BENCH_ONLY && !oneCoreOnly) console.log(resnetTable(await benchResNet(tf, torch, log)))
console.log()
// PyTorch on one thread for the per-thread column (a second server: its thread count is fixed at start)
const torch1 = torch ? await loadTorch(1) : undefined
console.log(await benchOneCore(tf, typeof torch1 === 'string' ? undefined : torch1, log))
if (typeof torch1 !== 'string') torch1?.close()
log(
  `done (load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')})`,
)
torch?.close()
process.exit(0)
