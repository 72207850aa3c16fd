// Mutation testing (StrykerJS 9, command runner): `npm run mutation -- <folder>`, e.g. `npm run mutation -- src/optim`.
// Run as a script it picks the test files that exercise <folder> and starts Stryker on that folder alone; imported by
// Stryker it is the config. Not part of `npm test` (minutes to hours per folder); scores go in test/MUTATION.md.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Folder → the test files that exercise it (only these run for each mutant: the command runner has no per-test coverage). */
export const suites = {
  'src/optim': ['test/optim/optim.test.ts'],
  'src/nn': ['test/nn/dense.test.ts', 'test/nn/resnet.test.ts', 'test/ops/loss.test.ts'],
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

const folder = (process.env.SOFTSHARE_MUTATE ?? '').replace(/\/+$/, '')
const slug = folder.replace(/[^a-z0-9]+/gi, '-')

export default {
  testRunner: 'command',
  commandRunner: {
    // the cpu-only parity backends (SOFTSHARE_PARITY=cpu): the gpu.js webasm backend shares no code with these folders
    command: `node --import tsx --test --test-concurrency=1 ${(suites[folder] ?? []).join(' ')}`,
  },
  mutate: [`${folder}/**/*.ts`, `!${folder}/**/*.wasm.ts`, `!${folder}/**/asm/**`],
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `reports/mutation/${slug}.incremental.json`,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  timeoutFactor: 2,
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['dist', 'runs', 'reports', '.gpu', '.gl', '.whl', 'examples/reports'],
  thresholds: { high: 85, low: 75, break: null },
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = (process.argv[2] ?? '').replace(/\/+$/, '')
  if (!(target in suites)) {
    console.error(
      `npm run mutation -- <folder>: expected one of ${Object.keys(suites).join(', ')}, got ${JSON.stringify(process.argv[2] ?? '')}`,
    )
    process.exit(2)
  }
  const r = spawnSync('npx', ['stryker', 'run', 'stryker.conf.mjs', ...process.argv.slice(3)], {
    stdio: 'inherit',
    env: { ...process.env, SOFTSHARE_MUTATE: target, SOFTSHARE_PARITY: 'cpu' },
  })
  process.exit(r.status ?? 1)
}
