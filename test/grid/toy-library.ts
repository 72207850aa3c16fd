/**
 * A tiny deterministic experiment library for the grid tests: linear regression trained by softshare's own
 * autodiff on the ref backend, one step per "epoch", a checkpoint after each, resumable from it. `slow` runs
 * sleep between epochs so a test can kill a worker mid-run.
 */
import { appendFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { isLeft } from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { add, grad, key, mean, mul, normal, refBackend, runSync, square, sub, tensor64 } from '../../src/index.ts'
import { loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint.ts'
import { type GridLibrary, type Json, RunFailed } from '../../src/node/grid/library.ts'
import type { HostTensor } from '../../src/tensor/host.ts'

const Config = t.exact(t.type({ rate: t.number, epochs: t.number, stepMs: t.number }))
type Config = t.TypeOf<typeof Config>

const PRESETS: Record<string, readonly { label: string; config: Config }[]> = {
  smoke: [0.05, 0.1, 0.2].map((rate) => ({ label: `rate ${rate}`, config: { rate, epochs: 5, stepMs: 60 } })),
  diverge: [{ label: 'diverge', config: { rate: 60, epochs: 5, stepMs: 0 } }],
  slow: [{ label: 'slow', config: { rate: 0.1, epochs: 10, stepMs: 400 } }],
}

const CKPT = 'toy-ckpt.json'

const train = async (config: Config, seed: number, dir: string, progress: (p: Json) => Promise<void>): Promise<Json> => {
  const [kx, kn] = [key(seed), key(seed + 1000)]
  const x = normal(kx, [32, 1])
  const y = add(mul(x, 2), add(mul(normal(kn, [32, 1]), 0.1), 1))
  const loss = (p: { w: HostTensor; b: HostTensor }) => mean(square(sub(add(mul(x, p.w), p.b), y)))
  let params: { w: HostTensor; b: HostTensor } = { w: tensor64([0]), b: tensor64([0]) }
  let epoch = 0
  const ckpt = join(dir, CKPT)
  if (existsSync(ckpt)) {
    const c = loadCheckpoint(ckpt)
    params = c.tree as typeof params
    epoch = (c.meta as { epoch: number }).epoch
    appendFileSync(join(dir, 'grid-events.jsonl'), `${JSON.stringify({ event: 'resume', epoch, pid: process.pid })}\n`)
  }
  const backend = refBackend()
  let value = Number.NaN
  for (; epoch < config.epochs; ) {
    const [l, g] = runSync([loss(params), grad(loss)(params)], { backend })
    value = l.data[0]
    if (!Number.isFinite(value) || value > 1e6)
      throw new RunFailed(`toy: loss diverged to ${value} at epoch ${epoch + 1} (rate ${config.rate})`)
    params = {
      w: tensor64([params.w.data[0] - config.rate * g.w.data[0]]),
      b: tensor64([params.b.data[0] - config.rate * g.b.data[0]]),
    }
    epoch++
    await new Promise((r) => setTimeout(r, config.stepMs))
    saveCheckpoint(ckpt, params, { epoch })
    await progress({ epoch, of: config.epochs, loss: value })
  }
  return { loss: value, w: params.w.data[0], b: params.b.data[0], epochs: epoch }
}

export const gridLibrary: GridLibrary = {
  experiments: ['toy'],
  runs: (_experiment, preset = 'smoke') => {
    const runs = PRESETS[preset]
    if (!runs) throw new Error(`unknown preset "${preset}"; expected ${Object.keys(PRESETS).join(', ')}`)
    return runs
  },
  validate: (_experiment, raw) => {
    const c = Config.decode(raw)
    if (isLeft(c)) return { ok: false, error: 'expected { rate, epochs, stepMs } numbers' }
    const { rate, epochs, stepMs } = c.right
    if (!(rate > 0 && rate <= 100)) return { ok: false, error: `rate: expected a number in (0, 100], got ${rate}` }
    if (!Number.isInteger(epochs) || epochs < 1) return { ok: false, error: `epochs: expected a positive integer, got ${epochs}` }
    if (!Number.isInteger(stepMs) || stepMs < 0) return { ok: false, error: `stepMs: expected an integer ≥ 0, got ${stepMs}` }
    return { ok: true, config: c.right }
  },
  run: (spec, ctx) => train(spec.config as Config, spec.seed, ctx.dir, ctx.progress),
  report: (experiment, rows) => {
    const lines = [`# ${experiment}`, '', '| run | seed | loss | w | b |', '|:--|--:|--:|--:|--:|']
    for (const r of rows) {
      const x = r.result as { loss: number; w: number; b: number } | undefined
      lines.push(
        x
          ? `| ${r.spec.label} | ${r.spec.seed} | ${x.loss.toFixed(6)} | ${x.w.toFixed(6)} | ${x.b.toFixed(6)} |`
          : `| ${r.spec.label} | ${r.spec.seed} | missing: ${r.missing} | | |`,
      )
    }
    const results = rows.map((r) => ({
      label: r.spec.label,
      seed: r.spec.seed,
      config: r.spec.config,
      result: r.result ?? null,
      missing: r.missing ?? null,
    }))
    return { 'report.md': `${lines.join('\n')}\n`, 'results.json': `${JSON.stringify(results, null, 2)}\n` }
  },
}
