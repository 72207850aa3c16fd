// Builds dist/node (ESM for Node) and dist/browser (ESM for browsers); declarations come from
// `tsc -p tsconfig.build.json`. Identifiers are never minified: gpu.js reads kernel source text.
import { build } from 'esbuild'

const common = {
  bundle: true,
  format: 'esm',
  sourcemap: true,
  minifyIdentifiers: false,
  minifySyntax: false,
  minifyWhitespace: false,
  keepNames: true,
  logLevel: 'info',
}

await Promise.all([
  build({
    ...common,
    entryPoints: { index: 'src/index.ts', testing: 'src/testing/index.ts', node: 'src/node/index.ts', cli: 'src/node/cli.ts' },
    outdir: 'dist/node',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    splitting: true,
  }),
  build({
    ...common,
    entryPoints: { index: 'src/index.ts' },
    outdir: 'dist/browser',
    platform: 'browser',
    target: 'es2022',
    external: ['webgpu', 'node:*', 'worker_threads', 'fs', 'path', 'os', 'url'],
  }),
])
