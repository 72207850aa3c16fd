/** Backend selection with a WebGPU adapter present: `auto` takes hardware adapters only; doctor names the kernel families. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'

const g = globalThis as { navigator?: unknown }

/** Runs `f` with a stand-in navigator.gpu whose adapter reports `info` (nothing is dispatched: backends compile lazily). */
const withAdapter = async (info: Record<string, unknown> | null, f: () => Promise<void>): Promise<void> => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: { requestAdapter: async () => (info ? { info } : null) } },
    configurable: true,
    writable: true,
  })
  try {
    await f()
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved)
    else delete g.navigator
  }
}

test('auto picks the gpu on a hardware adapter and cpu on a software one; gpu takes either', async () => {
  await withAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' }, async () => {
    const be = await ops.createBackend('auto')
    assert.equal(be.name, 'gpu')
    assert.equal((be as ReturnType<typeof ops.gpuBackend>).mode, 'webgpu')
    assert.equal((be as ReturnType<typeof ops.gpuBackend>).tiled, true)
    const lines = await ops.doctor()
    const gpu = lines.find((l) => l.backend === 'gpu (webgpu)')!
    assert.ok(gpu.available)
    assert.match(gpu.detail, /NVIDIA H200/)
    assert.match(gpu.detail, /tiled WGSL for matmul, conv2d, conv2dBackInput, conv2dBackFilter/)
    assert.match(gpu.detail, /gpu\.js WGSL for elementwise/)
    assert.match(gpu.detail, /the LAF Gram \(double-float\) and its 2×2 eigh, qr of tall panels \(Cholesky-QR2/)
    assert.match(gpu.detail, /host \(read back, compute, upload\) for small qr/)
    assert.equal(lines.find((l) => l.backend === 'auto')!.detail, 'picks gpu (webgpu)')
  })
  await withAdapter({ vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'Mesa' }, async () => {
    assert.equal((await ops.createBackend('auto')).name, 'cpu')
    const gpu = await ops.createBackend('gpu')
    assert.equal((gpu as ReturnType<typeof ops.gpuBackend>).mode, 'webgpu')
    const probe = await ops.probeWebGPU()
    assert.ok(probe.ok && probe.software, probe.detail)
    assert.match((await ops.doctor()).find((l) => l.backend === 'auto')!.detail, /cpu \(the only adapter is a software one\)/)
  })
  await withAdapter(null, async () => {
    assert.equal((await ops.createBackend('auto')).name, 'cpu')
    assert.match((await ops.probeWebGPU()).detail, /requestAdapter\(\) returned null/)
  })
})

test('a gpu backend with tiled: false keeps gpu.js kernels for matmul and conv (webasm never tiles)', async () => {
  assert.equal(ops.gpuBackend({ mode: 'webasm' }).tiled, false)
  await withAdapter({ description: 'NVIDIA H200' }, async () => {
    assert.equal(ops.gpuBackend({ mode: 'webgpu', tiled: false }).tiled, false)
    assert.equal(ops.gpuBackend({ mode: 'webgpu' }).tiled, true)
  })
})
