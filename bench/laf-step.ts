/**
 * LAF value + subgradient over all 36 convs of the two-task ResNet-34 (the `[kh, kw, cin, cout, 2]` stacks of
 * bench/tracenorm-step.ts) on the cpu backend, as one training step pays it: the weights are resident (a training
 * step's parameters are the previous step's results, never copied in), the gradients are let go of after the
 * round (a step consumes them). Two ways per library: `compiled` (`compile`, the cached plan a compiled training
 * step reuses) and `traced` (trace + differentiate + `run` every round). With `--before DIR` the same weights also
 * go through another checkout's library (DIR/src/index.ts); all contenders run interleaved round by round
 * (A B A B …), so they share one machine state. Prints the median and the fastest round.
 *
 * Run: npx tsx bench/laf-step.ts [--reps N] [--before ../other-checkout]
 */
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as ss from '../src/index.ts'
import { initMultiTask } from '../src/mtl/multitask.ts'
import { resnet, resnetLayouts } from '../src/nn/resnet.ts'
import { fmtMs } from './lib/tracenorm.ts'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const reps = Number(flag('--reps') ?? 5)
if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`laf-step: --reps must be a positive integer, got ${flag('--reps')}`)
const before = flag('--before')

const init = initMultiTask(ss.key(0), {
  tasks: [resnetLayouts.resnet34(3, 13), resnetLayouts.resnet34(3, 136)],
  sharing: { kind: 'single' },
})
const convs = init.params.tasks.map((p) => resnet.convWeights(p)) as ss.HostTensor[][]

/** The slice of the library API the bench needs (so another checkout's copy fits too). */
type Lib = typeof ss
interface Contender {
  readonly label: string
  readonly f: () => Promise<number>
  readonly ms: number[]
  /** Process CPU time (user + system) per round: less sensitive than wall time to other jobs on a shared machine. */
  readonly cpuMs: number[]
}
/** Σ over the convs of LAF on the two tasks' stacked weights. */
const lafSum = (lib: Lib) => (ws: ss.HostTensor[][]) =>
  lib.valueAndGrad((w: ss.Tensor[][]) =>
    w[0].map((_, l) => lib.laf(lib.stackTasks(w.map((t) => t[l])), 1)).reduce((a, b) => lib.add(a, b)),
  )(ws)

/** The two ways one library runs a round, on weights already resident on its backend. */
const contenders = async (label: string, lib: Lib): Promise<Contender[]> => {
  // the two-task ResNet-34's weights and gradients stay resident (the default 256 MiB cap would copy them out)
  const cpu = lib.cpuBackend({ residentBytes: 2 ** 30 })
  // a training step's parameters are the previous step's results: resident, never copied in
  const weights = (await lib.run(
    convs.map((ws) => ws.map((w) => lib.mul(w, 1))),
    { backend: cpu },
  )) as unknown as ss.HostTensor[][]
  const consume = (grad: ss.HostTensor[][]) => {
    for (const g of grad.flat()) cpu.donate?.(g)
  }
  const compiled = lib.compile(lafSum(lib), { backend: cpu })
  return [
    {
      label: `${label}, compiled`,
      ms: [],
      cpuMs: [],
      f: async () => {
        const out = await compiled(weights)
        consume(out.grad as ss.HostTensor[][])
        return out.value.data[0]
      },
    },
    {
      label: `${label}, traced`,
      ms: [],
      cpuMs: [],
      f: async () => {
        const out = await lib.run(lafSum(lib)(weights), { backend: cpu })
        consume(out.grad as ss.HostTensor[][])
        return out.value.data[0]
      },
    },
  ]
}

/** The 1, 5 and 15 minute load averages. */
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

const main = async (): Promise<void> => {
  const items = await contenders('this checkout', ss)
  if (before) {
    const other = (await import(pathToFileURL(path.resolve(before, 'src/index.ts')).href)) as Lib
    items.push(...(await contenders(`before (${before})`, other)))
  }
  const elems = convs[0].reduce((acc, w) => acc + w.data.length, 0)
  console.log(`# LAF value+grad, 36 convs of two ResNet-34s (2 × ${(elems / 1e6).toFixed(1)} M weights), cpu backend`)
  console.log(`${new Date().toISOString()} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} · node ${process.version}`)
  console.log(`load average at start: ${load()}`)
  for (let r = 0; r <= reps; r++)
    for (const it of items) {
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const v = await it.f()
      const ms = performance.now() - t0
      const c = process.cpuUsage(c0)
      if (r > 0) {
        it.ms.push(ms)
        it.cpuMs.push((c.user + c.system) / 1000)
      }
      console.error(`round ${r}: ${it.label} ${fmtMs(ms)} (value ${v.toFixed(3)})`)
    }
  const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  for (const it of items)
    console.log(
      `${it.label}: wall median ${fmtMs(median(it.ms))}, fastest ${fmtMs(Math.min(...it.ms))}; ` +
        `CPU time median ${fmtMs(median(it.cpuMs))}, least ${fmtMs(Math.min(...it.cpuMs))} (${it.ms.length} rounds)`,
    )
  console.log(`load average at end: ${load()}`)
}

main().catch((e) => {
  console.error(`laf-step: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exitCode = 1
})
