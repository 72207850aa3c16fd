/**
 * The quickstart's path at toy size for the resume test: `runExperiment` with per-epoch validation inside
 * `fitRun`. `new OUT` starts a run directory, `resume DIR` continues one, `plain` trains the same config without
 * a validation split or run directory. Prints `step N` after each step, then `result {…}` (test metrics,
 * per-epoch metrics, final validation metrics).
 */
import { cpuBackend } from '../../src/index.ts'
import { defaultExperiment, type ExperimentConfig, runExperiment } from '../../src/experiments/index.ts'
import { fitRun } from '../../src/node/run-dir.ts'

const [mode, where] = process.argv.slice(2)
const slowMs = Number(process.env.SLOW_MS ?? 0)
// 4 steps per epoch, 12 in all; checkpoints every 3 steps and at each epoch end
const c: ExperimentConfig = {
  ...defaultExperiment,
  runs: ['laf+ada'],
  train: 32,
  val: mode === 'plain' ? 0 : 16,
  test: 16,
  size: 16,
  width: 2,
  epochs: 3,
  batch: 8,
}
const best = { metric: 'val_err', mode: 'min' } as const
const r = await runExperiment(c, {
  backend: cpuBackend(),
  ...(mode === 'plain'
    ? {}
    : {
        epochValidation: true,
        fit: (init, fc, run) =>
          fitRun(
            init,
            {
              ...fc,
              afterStep: async (s: { step: number }) => {
                process.stdout.write(`step ${s.step}\n`)
                if (slowMs) await new Promise((ok) => setTimeout(ok, slowMs))
              },
            },
            mode === 'resume'
              ? { resume: where, everySteps: 3, keep: 2, best }
              : { out: where, name: run, config: { experiment: c, run }, everySteps: 3, keep: 2, best },
          ),
      }),
})
const [run] = r.runs
process.stdout.write(`result ${JSON.stringify({ test: run.test, val: run.val, epochs: run.history.map((h) => h.metrics) })}\n`)
process.exit(0)
