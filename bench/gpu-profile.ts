/**
 * Where a GPU training step's time goes: the two-task ResNet-34 LAF step (Adam, state resident) at a few batch
 * sizes, traced and compiled, with kernels dispatched per step, and a V8 CPU profile of the timed steps written to
 * $OUT (open it in Chrome's DevTools, or summarise it with `node bench/lib/cpuprofile-top.mjs FILE`).
 *
 *   bash bench/webgpu-cpu/run.sh node --import tsx bench/gpu-profile.ts --small     # software WebGPU: checks the path
 *   bash ../shared/device/prepare.sh bench/gpu-profile.ts && bash .gpu/run.sh gpu-profile   # the GPU machine
 *
 * `--recycle BYTES` sets the backend's `recycleBytes` (0: every kernel output a new device buffer, as before
 * recycling); `--tag NAME` names the output files of a run.
 */
import fs from 'node:fs'
import { Session } from 'node:inspector/promises'
import * as ops from '../src/index.ts'
import type { MultiTaskConfig } from '../src/mtl/multitask.ts'
import { releaseState } from '../src/train/index.ts'
import { makeBatch, median, taskLayouts, timeSteps, twoTaskStep } from './gpu-check-steps.ts'
import { args, fmtMs, table, watchdog } from './lib/timing.ts'

const main = async (): Promise<void> => {
  const opt = args(process.argv.slice(2))
  const small = opt.small === true
  watchdog(Number(opt.limit ?? 300))
  const probe = await ops.probeWebGPU()
  if (!probe.ok) throw new Error(`gpu-profile: no WebGPU adapter (${probe.detail})`)
  const recycle = opt.recycle === undefined ? undefined : Number(opt.recycle)
  const tag = typeof opt.tag === 'string' ? `-${opt.tag}` : ''
  const be = ops.gpuBackend({ mode: 'webgpu', vec4: true, ...(recycle === undefined ? {} : { recycleBytes: recycle }) })
  const size = small ? 32 : 96
  const batches = small ? [1, 2] : [1, 32, 256]
  const reps = small ? 2 : 4
  const out = process.env.OUT
  console.log(
    `gpu-profile ${new Date().toISOString()} adapter: ${probe.detail}${small ? ' --small' : ''} recycleBytes ${recycle ?? 'default'}`,
  )
  const mc: MultiTaskConfig = { tasks: taskLayouts(small), sharing: { kind: 'laf', gamma: 1e-2 } }
  const rows: string[][] = [
    [
      'step',
      'batch/task',
      'ms/step (median)',
      'gpu.js kernels/step',
      'tiled kernels/step',
      'host ops/step',
      'ms per kernel',
      'buffers created/reused per step',
    ],
  ]
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  for (const compile of [false, true]) {
    const { step, state0 } = twoTaskStep(be, mc, { compile })
    for (const n of batches) {
      const batch = makeBatch(n, size)
      const st0: any = await step(state0, batch)
      const warm = await timeSteps(step, st0, batch, 1) // a compiled step plans at its second call
      const profile = n === batches[1]
      if (profile) await session.post('Profiler.start')
      const s0 = be.deviceStats()
      const { ts, st } = await timeSteps(step, warm.st, batch, reps)
      const s1 = be.deviceStats()
      if (profile) {
        const { profile: p } = await session.post('Profiler.stop')
        const file = `gpu-profile${tag}-${compile ? 'compiled' : 'traced'}-${n}.cpuprofile`
        if (out) fs.writeFileSync(`${out}/${file}`, JSON.stringify(p))
      }
      releaseState(st)
      const k = (s1.ran.gpujs - s0.ran.gpujs + s1.ran.tiled - s0.ran.tiled) / reps
      const ms = median(ts)
      rows.push([
        compile ? 'compiled' : 'traced',
        String(n),
        fmtMs(ms),
        String((s1.ran.gpujs - s0.ran.gpujs) / reps),
        String((s1.ran.tiled - s0.ran.tiled) / reps),
        String((s1.ran.host - s0.ran.host) / reps),
        (ms / k).toFixed(3),
        s1.buffers && s0.buffers
          ? `${(s1.buffers.created - s0.buffers.created) / reps}/${(s1.buffers.reused - s0.buffers.reused) / reps}`
          : 'off',
      ])
      console.error(`${compile ? 'compiled' : 'traced'} batch ${n}: ${fmtMs(ms)} ms/step`)
    }
  }
  console.log(`\n${table(rows)}`)
  if (out) fs.writeFileSync(`${out}/gpu-profile${tag}.md`, table(rows))
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
