/**
 * Shared by the WebGPU test files (gpu-tiled, gpu-tracenorm): the re-run under the software adapter when this process
 * has no `navigator.gpu`, the small two-task training step, and a float64 error measure.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import * as ops from '../../src/index.ts'
import { applyMultiTask, initMultiTask, type MultiTaskConfig } from '../../src/mtl/multitask.ts'
import { crossEntropy, l1 } from '../../src/nn/losses.ts'
import { resnetLayouts } from '../../src/nn/resnet.ts'
import { sgd } from '../../src/optim/index.ts'
import { trainStep } from '../../src/train/index.ts'

export const hasDevice = !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu

/**
 * One test that runs `file` (relative to the repository root) again under the software WebGPU adapter
 * (bench/webgpu-cpu/run.sh: Dawn over Mesa llvmpipe), so `npm test` runs the WGSL wherever that path works.
 */
export const rerunOnSoftwareAdapter = (file: string): void => {
  test(`${file} on the software WebGPU adapter (bench/webgpu-cpu/run.sh)`, { timeout: 900_000 }, () => {
    const root = fileURLToPath(new URL('../..', import.meta.url))
    // a child `node --test` that inherits the runner's context refuses to run ("called recursively")
    const { NODE_TEST_CONTEXT: _, ...env } = process.env
    const r = spawnSync('bash', ['bench/webgpu-cpu/run.sh', 'node', '--import', 'tsx', '--test', '--test-reporter=spec', file], {
      cwd: root,
      encoding: 'utf8',
      env: { ...env, SOFTSHARE_GPU_MODE: 'webgpu' },
      timeout: 880_000,
    })
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
    console.log(
      out
        .split('\n')
        .filter((l) => /^\s*(✔|✖|ℹ (tests|pass|fail)|# )/.test(l))
        .join('\n'),
    )
    assert.equal(r.status, 0, `software WebGPU run failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${out.slice(-4000)}`)
    assert.match(out, /ℹ pass [1-9]/, 'no test passed under the software adapter')
    assert.match(out, /ℹ fail 0/)
  })
}

/** max |got − want| / max |want| against a float64 host result. */
export const relErr = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  let err = 0
  let mag = 0
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]))
    mag = Math.max(mag, Math.abs(want[i]))
  }
  return err / mag
}

/**
 * A small two-task step (narrow ResNets of width 4 on 8×8 images: conv weights up to [3,3,16,16], batch 2 per task,
 * SGD) with the given sharing; a trace norm's randomized sketches use a fixed key.
 */
export const twoTask = (sharing: MultiTaskConfig['sharing']) => {
  const mc: MultiTaskConfig = { tasks: [resnetLayouts.small(3, 3, 4), resnetLayouts.small(3, 2, 4)], sharing }
  const init = initMultiTask(ops.key(5), mc)
  // SGD with momentum: its update is linear in the gradient, so float32 rounding differences stay small (Adam turns
  // the sign of a ~0 gradient into a full ±lr step)
  const opt = sgd({ lr: 0.01, momentum: 0.9 })
  const [ka, kb, kc] = ops.split(ops.key(6), 3)
  const batch = {
    xa: ops.normal(ka, [2, 8, 8, 3]),
    ya: ops.tensor([1, 0, 0, 0, 0, 1], [2, 3]),
    xb: ops.normal(kb, [2, 8, 8, 3]),
    yb: ops.normal(kc, [2, 2]),
  }
  const stepOn = (backend: ops.Backend<any>, resident?: boolean) =>
    trainStep<typeof batch, any, any>({
      optimizer: opt,
      backend,
      ...(resident === undefined ? {} : { resident }),
      loss: (p, b, s) => {
        const f = applyMultiTask(mc, p, [b.xa, b.xb], s, { training: true, key: ops.key(12) })
        const ce = crossEntropy(f.outs[0], b.ya)
        const loss = ops.add(ops.add(ce, l1(f.outs[1], b.yb)), f.traceNorm ?? 0)
        return { loss, metrics: { ce }, modelState: f.state }
      },
    })
  return { batch, stepOn, state0: { params: init.params, modelState: init.state, opt: opt.init(init.params), step: 0 } }
}
