/**
 * Checkpoint throughput: `saveCheckpoint` / `loadCheckpoint` of a tree of float32 tensors (sha256 included),
 * page cache warm (one unmeasured save and load first), median of `--reps` save/load pairs.
 *   npx tsx bench/checkpoint-io.ts [--mb 256] [--reps 3] [--dir /tmp]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadCheckpoint, saveCheckpoint } from '../src/node/index.ts'
import { fromData } from '../src/tensor/host.ts'
import { args } from './lib/timing.ts'

const opt = args(process.argv.slice(2))
const mb = Number(opt.mb ?? 256)
const reps = Number(opt.reps ?? 3)
const dir = mkdtempSync(join(String(opt.dir ?? tmpdir()), 'ckpt-bench-'))
// 16 MB tensors, as a large network's layers would be
const per = 4 * 1024 * 1024
const tree = {
  params: Array.from({ length: Math.ceil((mb * 1024 * 1024) / (4 * per)) }, (_, i) =>
    fromData(
      Float32Array.from({ length: per }, (_, j) => Math.sin(i * per + j)),
      [per],
    ),
  ),
  step: 1,
}
const bytes = tree.params.length * per * 4
const file = join(dir, 'bench.safetensors')
const time = (f: () => void): number => {
  const t0 = performance.now()
  f()
  return (performance.now() - t0) / 1000
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
saveCheckpoint(file, tree)
loadCheckpoint(file)
const w: number[] = []
const r: number[] = []
for (let i = 0; i < reps; i++) {
  w.push(bytes / 1e6 / time(() => saveCheckpoint(file, tree)))
  r.push(bytes / 1e6 / time(() => loadCheckpoint(file)))
}
rmSync(dir, { recursive: true, force: true })
const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ')
console.log(
  `${(bytes / 2 ** 20).toFixed(0)} MiB checkpoint (MB = 10^6 bytes): write ${median(w).toFixed(0)} MB/s (${f(w)}), read ${median(r).toFixed(0)} MB/s (${f(r)})`,
)
