// Mutation testing (StrykerJS 9, command runner): `npm run mutation -- <folder or file>`, e.g. `npm run mutation -- src/optim`
// or `npm run mutation -- src/nn/losses.ts`. Run as a script it picks the test files that exercise the target (the
// longest matching key of `suites`) and starts Stryker on that target alone; imported by Stryker it is the config.
// Not part of `npm test` (minutes to hours per folder); scores go in test/MUTATION.md.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Folder or file → the test files that exercise it (only these run for each mutant: the command runner has no per-test
 * coverage). A file entry narrows its folder's list for a quicker run of that file alone.
 */
export const suites = {
  'src/optim': ['test/optim/optim.test.ts'],
  'src/nn': ['test/nn/dense.test.ts', 'test/nn/layers.test.ts', 'test/nn/resnet.test.ts'],
  'src/nn/resnet.ts': ['test/nn/resnet.test.ts'],
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
  'src/mtl': ['test/mtl/tracenorm.test.ts', 'test/mtl/multitask.test.ts', 'test/mtl/ada.test.ts', 'test/mtl/paperruns.test.ts'],
  'src/linalg': ['test/linalg/linalg.test.ts', 'test/linalg/eigh-qr.test.ts', 'test/mtl/tracenorm.test.ts', 'test/ops/linalg.test.ts'],
  'src/train': ['test/train/train.test.ts', 'test/train/flags.test.ts'],
  'src/ops': [
    'test/ops/elementwise.test.ts',
    'test/ops/reduce-shape.test.ts',
    'test/ops/conv.test.ts',
    'test/ops/pool.test.ts',
    'test/ops/loss.test.ts',
    'test/ops/linalg.test.ts',
    'test/core/errors.test.ts',
    'test/core/autodiff.test.ts',
  ],
  'src/backend/cpu': [
    'test/backend/cpu-kernels.test.ts',
    'test/backend/cpu-fusion.test.ts',
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
// The command runner reports no per-test results, so Stryker's incremental mode cannot see a changed test: key the
// incremental file by a hash of the test code instead (same tests: only mutants in changed source re-run; changed
// tests: a full run).
const testCode = [...tests, 'test/harness.ts', ...readdirSync('test/ops/cases').map((f) => `test/ops/cases/${f}`)]
const testHash = createHash('sha256')
for (const f of testCode) if (existsSync(f)) testHash.update(readFileSync(f))

export default {
  testRunner: 'command',
  commandRunner: {
    // the cpu-only parity backends (SOFTSHARE_PARITY=cpu): the gpu.js webasm backend shares no code with these folders
    command: `node --import tsx --test --test-concurrency=1 ${tests.join(' ')}`,
  },
  mutate: target.endsWith('.ts') ? [target] : [`${target}/**/*.ts`, `!${target}/**/*.wasm.ts`, `!${target}/**/asm/**`],
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `reports/mutation/${slug}.${testHash.digest('hex').slice(0, 12)}.incremental.json`,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  timeoutFactor: 2,
  timeoutMS: 60000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['dist', 'runs', 'reports', '.gpu', '.gl', '.whl', 'examples/reports'],
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
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.conf.mjs', ...process.argv.slice(3)], {
    stdio: 'inherit',
    env: { ...process.env, SOFTSHARE_MUTATE: arg, SOFTSHARE_PARITY: 'cpu' },
  })
  process.exit(r.status ?? 1)
}
