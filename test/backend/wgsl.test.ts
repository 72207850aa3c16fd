/**
 * Without a GPU the WebGPU path cannot run here, but gpu.js translates a kernel to WGSL synchronously
 * before it asks for a device. This test translates the kernel of every call the parity suite makes
 * (forward, VJP, fused chains, both matmul variants) so WGSL translation errors show up in CI, not on
 * the one device run.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GPU } from 'gpu.js'
import type { Backend, KernelCall } from '../../src/index.ts'
import * as ops from '../../src/index.ts'
import { gpuKernelSource, kernelSettings } from '../../src/backend/gpu/index.ts'
import { linalgKernels } from '../../src/backend/host/linalg-kernels.ts'
import { checkParity, fc } from '../../src/testing/index.ts'
import { allCases } from '../ops/cases/index.ts'

test('every gpu kernel of the parity suite translates to WGSL', async () => {
  const calls = new Map<string, KernelCall>()
  const hostOps = new Set(Object.keys(linalgKernels(Float32Array, 1e-3)))
  const inner = ops.gpuBackend()
  const rec: Backend<any> = {
    ...inner,
    exec: (call, ins) => {
      calls.set(JSON.stringify([call.op, call.inShapes, call.outShape, call.attrs, call.elementwise]), call)
      return inner.exec(call, ins)
    },
  }
  for (const c of allCases)
    for (const { inputs, attrs } of fc.sample(c.arb, { numRuns: 3, seed: 5 })) {
      if (c.pre && !c.pre(inputs, attrs)) continue
      await checkParity((...xs) => c.f(xs, attrs), inputs, rec, { wrt: c.wrt, rtol: 1, atol: 1 })
    }
  const saved = (globalThis as any).navigator
  ;(globalThis as any).navigator = { gpu: { requestAdapter: async () => null } }
  try {
    const gpu = new GPU({ mode: 'webgpu' })
    const failures: string[] = []
    let translated = 0
    for (const call of calls.values())
      for (const vec4 of call.op === 'matmul' ? [false, true] : [false]) {
        // host ops (small dense factorizations) have no kernel source: they never reach WGSL
        if (hostOps.has(call.op)) continue
        const ks = gpuKernelSource(call, { vec4 })
        const k = gpu.createKernel(ks.source as any, kernelSettings(ks) as any) as any
        const args = call.inShapes.map((s) => new Float32Array(Math.max(1, ops.sizeOf(s))))
        try {
          await k(...args)
          failures.push(`${call.op}: ran without an adapter?`)
        } catch (e) {
          const msg = (e as Error).message
          if (!/no adapter/.test(msg)) failures.push(`${call.op} ${JSON.stringify(call.inShapes)}: ${msg.slice(0, 300)}\n${ks.source}`)
          else if (!/fn main/.test(k.kernel.compiledSource ?? '')) failures.push(`${call.op}: no WGSL entry point`)
          else translated++
        }
      }
    assert.deepEqual(failures, [])
    assert.ok(translated >= 30, `translated ${translated} kernels`)
    console.log(`translated ${translated} kernels to WGSL`)
  } finally {
    ;(globalThis as any).navigator = saved
  }
})
