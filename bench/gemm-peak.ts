/**
 * The per-thread GEMM ceiling of the WASM SIMD build on this machine: one worker, cache-friendly square-ish
 * products repeated, GFLOP/s in process CPU time (best of 7). Run it plain (baseline build: f32x4 mul then add)
 * and with `node --experimental-wasm-relaxed-simd --import tsx bench/gemm-peak.ts` (Node 20; the relaxed build's
 * fused multiply-add) to see both ceilings:
 *
 *   npx tsx bench/gemm-peak.ts
 */
import { matmulWasm } from '../src/backend/cpu/wasm/kernels.ts'
import { createWasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'

const main = async (): Promise<void> => {
  const rt = createWasmRuntime(1)
  console.log(`one thread, ${rt.relaxed ? 'relaxed-SIMD build (fused multiply-add)' : 'baseline SIMD build (mul then add)'}`)
  for (const [m, k, n] of [
    [64, 256, 64],
    [128, 256, 128],
    [256, 256, 256],
    [512, 512, 512],
  ]) {
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i))
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i))
    const reps = Math.max(1, Math.floor(2e9 / (2 * m * n * k)))
    let best = 0
    for (let r = 0; r < 7; r++) {
      const c0 = process.cpuUsage()
      for (let i = 0; i < reps; i++) matmulWasm(a, b, [m, k], false, false, [m, n], rt)
      const c = process.cpuUsage(c0)
      best = Math.max(best, (2 * m * n * k * reps) / ((c.user + c.system) * 1e3))
    }
    console.log(`${m}×${k}·${k}×${n}: ${best.toFixed(1)} GFLOP/s`)
  }
  process.exit(0)
}

main()
