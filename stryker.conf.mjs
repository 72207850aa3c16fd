// Mutation testing (StrykerJS 9): `npm run mutation -- <folder or file>`, e.g. `npm run mutation -- src/optim` or
// `npm run mutation -- src/nn/losses.ts`. Run as a script it picks the test files that may exercise the target (the
// longest matching key of `suites`) and starts Stryker on that target alone; imported by Stryker it is the config.
// Not part of `npm test` (minutes to hours per folder); scores go in test/MUTATION.md.
//
// Runners (see the runner choice below): each mutant runs only the tests that reached it in the dry run, stopping
// at the first failure. FC_NUM_RUNS (default 5 here) caps the fast-check runs per property.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Folder or file → the test files that may exercise it (the dry run runs them all; each mutant then runs those that
 * reached it). A file entry narrows its folder's list for a quicker run of that file alone.
 */
export const suites = {
  'src/optim': ['test/optim/optim.test.ts'],
  'src/nn': ['test/nn/dense.test.ts', 'test/nn/layers.test.ts', 'test/nn/resnet.test.ts', 'test/nn/resnet-config.test.ts'],
  'src/nn/resnet.ts': ['test/nn/resnet.test.ts', 'test/nn/resnet-config.test.ts'],
  'src/nn/batchnorm.ts': ['test/nn/dense.test.ts', 'test/nn/layers.test.ts'],
  'src/nn/dense.ts': ['test/nn/dense.test.ts', 'test/nn/layers.test.ts'],
  'src/nn/conv.ts': ['test/nn/layers.test.ts', 'test/nn/resnet.test.ts'],
  'src/nn/init.ts': ['test/nn/dense.test.ts', 'test/nn/layers.test.ts'],
  'src/nn/losses.ts': ['test/nn/layers.test.ts'],
  'src/ops/pool.ts': ['test/ops/pool.test.ts', 'test/core/errors.test.ts'],
  'src/backend/cpu/movement.ts': ['test/backend/cpu-kernels.test.ts'],
  'src/backend/cpu/pool-alloc.ts': ['test/backend/cpu-kernels.test.ts', 'test/backend/cpu-fusion.test.ts'],
  'src/backend/cpu/conv.ts': ['test/backend/cpu-kernels.test.ts', 'test/ops/conv.test.ts'],
  'src/backend/cpu/pool.ts': ['test/ops/pool.test.ts'],
  'src/backend/cpu/resident.ts': ['test/backend/cpu-resident.test.ts', 'test/backend/cpu-options.test.ts'],
  'src/backend/cpu/elementwise.ts': [
    'test/backend/cpu-options.test.ts',
    'test/backend/cpu-fusion.test.ts',
    'test/backend/cpu-kernels.test.ts',
    'test/ops/elementwise.test.ts',
  ],
  'src/backend/cpu/wasm': [
    'test/backend/cpu-options.test.ts',
    'test/backend/cpu-resident.test.ts',
    'test/linalg/gram-wasm.test.ts',
    'test/backend/wasm-jobs.test.ts',
    'test/backend/wasm.test.ts',
  ],
  'src/backend/cpu/gemm.ts': ['test/ops/cpu-matmul.test.ts', 'test/backend/cpu-kernels.test.ts', 'test/ops/conv.test.ts'],
  'src/mtl': [
    'test/mtl/tracenorm.test.ts',
    'test/mtl/multitask.test.ts',
    'test/mtl/ada.test.ts',
    'test/mtl/paperruns.test.ts',
    'test/mtl/guards.test.ts',
  ],
  'src/linalg': [
    'test/linalg/linalg.test.ts',
    'test/linalg/eigh-qr.test.ts',
    'test/linalg/edges.test.ts',
    'test/linalg/mutation-guards.test.ts',
    'test/mtl/tracenorm.test.ts',
    'test/ops/linalg.test.ts',
  ],
  'src/train': ['test/train/train.test.ts', 'test/train/flags.test.ts', 'test/train/finetune.test.ts', 'test/train/format.test.ts'],
  'src/ops': [
    'test/ops/elementwise.test.ts',
    'test/ops/reduce-shape.test.ts',
    'test/ops/conv.test.ts',
    'test/ops/pool.test.ts',
    'test/ops/loss.test.ts',
    'test/ops/linalg.test.ts',
    'test/ops/cpu-matmul.test.ts',
    'test/ops/window-errors.test.ts',
    'test/ops/prim-attrs.test.ts',
    'test/core/errors.test.ts',
    'test/core/autodiff.test.ts',
    'test/core/tensor.test.ts',
    'test/backend/fusion.test.ts',
    'test/backend/cpu-kernels.test.ts',
    'test/linalg/linalg.test.ts',
    'test/linalg/edges.test.ts',
    'test/linalg/mutation-guards.test.ts',
    'test/nn/layers.test.ts',
  ],

  'src/backend/cpu': [
    'test/backend/cpu-options.test.ts',
    'test/backend/cpu-resident.test.ts',
    'test/backend/cpu-kernels.test.ts',
    'test/backend/cpu-fusion.test.ts',
    'test/linalg/gram-wasm.test.ts',
    'test/backend/wasm-jobs.test.ts',
    'test/backend/wasm.test.ts',
    'test/ops/cpu-matmul.test.ts',
    'test/ops/conv.test.ts',
    'test/ops/pool.test.ts',
    'test/ops/elementwise.test.ts',
    'test/ops/reduce-shape.test.ts',
  ],
}

/** The `suites` key for a target: the longest key equal to it or a folder above it. */
export const suiteKey = (target) =>
  Object.keys(suites)
    .filter((k) => target === k || target.startsWith(`${k}/`))
    .sort((a, b) => b.length - a.length)[0]

const target = (process.env.SOFTSHARE_MUTATE ?? '').replace(/\/+$/, '')
const tests = suites[suiteKey(target)] ?? []
const slug = target.replace(/[^a-z0-9]+/gi, '-')
// The runner: 'node-test' (in-process, per-test coverage) by default; 'node-test-fresh' (the same, but a new process
// for every mutant) for the parts of src/backend/cpu that keep state across runs in one process (the module-level cache
// of compiled elementwise loops, the buffer pool, the residency of read-back blocks, the WASM runtime's heap and worker
// pool), where one mutant's effects would outlive its run and decide the next mutant's; 'tap' (a process per test
// file, per-file coverage: every test of a file for every mutant it reaches) and 'command' (every file for every
// mutant) as the slower baselines.
const stateful = ['src/backend/cpu/elementwise.ts', 'src/backend/cpu/pool-alloc.ts', 'src/backend/cpu/resident.ts', 'src/backend/cpu/wasm']
const runnerName =
  process.env.SOFTSHARE_MUTATION_RUNNER ??
  (target === 'src/backend/cpu' || stateful.some((s) => target === s || target.startsWith(`${s}/`)) ? 'node-test-fresh' : 'node-test')
const command = runnerName === 'command'
// Stryker's incremental mode sees each test (and its file) but not the helpers tests import: key the incremental file
// by a hash of the helpers (and, for the command runner, which reports no tests, of the test files too). Same key:
// only mutants in changed source or covered by a changed test re-run.
const helpers = [
  'test/harness.ts',
  ...['test/ops/cases', 'test/linalg', 'test/backend'].flatMap((d) =>
    readdirSync(d)
      .filter((f) => /\.m?[jt]s$/.test(f) && !f.endsWith('.test.ts'))
      .map((f) => `${d}/${f}`),
  ),
]
const hash = createHash('sha256')
for (const f of [...helpers, ...(command ? tests : [])]) if (existsSync(f)) hash.update(readFileSync(f))
const runners = {
  command: {
    testRunner: 'command',
    coverageAnalysis: 'off',
    commandRunner: { command: `node --import tsx --test --test-concurrency=1 ${tests.join(' ')}` },
  },
  tap: {
    testRunner: 'tap',
    coverageAnalysis: 'perTest',
    plugins: ['@stryker-mutator/tap-runner'],
    tap: { testFiles: tests, nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'], forceBail: true },
  },
  'node-test': {
    testRunner: 'node-test',
    coverageAnalysis: 'perTest',
    plugins: ['./test/mutation/node-test-runner.mjs'],
    nodeTest: { testFiles: tests },
  },
  'node-test-fresh': {
    testRunner: 'node-test',
    coverageAnalysis: 'perTest',
    plugins: ['./test/mutation/node-test-runner.mjs'],
    nodeTest: { testFiles: tests },
    // a worker process serves one mutant, then a new one loads the test files afresh
    maxTestRunnerReuse: 1,
  },
}

export default {
  ...runners[runnerName],
  mutate: target.endsWith('.ts') ? [target] : [`${target}/**/*.ts`, `!${target}/**/*.wasm.ts`, `!${target}/**/asm/**`],
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // SOFTSHARE_MUTATION_IGNORE_STATIC=1: skip mutants reached only while modules load (each needs a fresh process
  // and the whole suite); they are reported as ignored, outside the score
  ignoreStatic: process.env.SOFTSHARE_MUTATION_IGNORE_STATIC === '1',
  incremental: true,
  incrementalFile: `reports/mutation/${slug}.${runnerName}.${hash.digest('hex').slice(0, 12)}.incremental.json`,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  timeoutFactor: 2,
  timeoutMS: 60000,
  // one sandbox folder per target, so runs on two targets can share the worktree
  tempDirName: `.stryker-tmp/${slug}`,
  cleanTempDir: true,
  ignorePatterns: ['.stryker-tmp', 'dist', 'runs', 'reports', '.gpu', '.gl', '.whl', 'examples/reports'],
  thresholds: { high: 85, low: 75, break: null },
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (process.argv[2] ?? '').replace(/\/+$/, '')
  if (!suiteKey(arg) || !existsSync(arg)) {
    console.error(
      `npm run mutation -- <folder or file>: expected one of ${Object.keys(suites).join(', ')} or a file under one, got ${JSON.stringify(process.argv[2] ?? '')}`,
    )
    process.exit(2)
  }
  // the cpu-only parity backends (SOFTSHARE_PARITY=cpu): the gpu.js webasm backend shares no code with these folders
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.conf.mjs', ...process.argv.slice(3)], {
    stdio: 'inherit',
    // one fast-check seed for the whole run (FC_SEED overrides): the dry run's per-test coverage holds for the mutant runs only
    // when every worker process draws the same inputs (test/harness.ts otherwise draws a fresh seed per process)
    env: { FC_NUM_RUNS: '5', FC_SEED: '42', ...process.env, SOFTSHARE_MUTATE: arg, SOFTSHARE_PARITY: 'cpu' },
  })
  process.exit(r.status ?? 1)
}
