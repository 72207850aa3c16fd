// Builds dist/node (ESM for Node), dist/browser (ESM for browsers) and the demo page's two bundles
// (dist/browser/demo.js, dist/browser/demo-worker.js); declarations come from `tsc -p tsconfig.build.json`.
// Identifiers are never minified: gpu.js reads kernel source text. The option sets are exported so that
// the bundle check and the browser test build exactly what `npm run build` ships, into a folder of their own.
import { build } from 'esbuild'
import { pathToFileURL } from 'node:url'

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

/** The Node entries (package "default" conditions). */
export const nodeOptions = (outdir = 'dist/node') => ({
  ...common,
  entryPoints: { index: 'src/index.ts', testing: 'src/testing/index.ts', node: 'src/node/index.ts', cli: 'src/node/cli.ts' },
  outdir,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  splitting: true,
})

// 'webgpu' is the Node binding (imported by a variable name, only when there is no navigator.gpu);
// nothing else may stay external: the browser bundle check (test/browser/bundle.test.ts) fails on any
// import of a Node built-in or any free `process`.
const browserCommon = { ...common, platform: 'browser', target: 'es2022', external: ['webgpu'], metafile: true }

/** The browser entry (package "browser" condition): `dist/browser/index.js`. */
export const browserOptions = (outdir = 'dist/browser') => ({ ...browserCommon, entryPoints: { index: 'src/index.ts' }, outdir })

/** The demo page (examples/browser/): the page script and the training worker, each self-contained. */
export const demoOptions = (outdir = 'dist/browser') => ({
  ...browserCommon,
  entryPoints: { demo: 'examples/browser/demo.ts', 'demo-worker': 'examples/browser/train-worker.ts' },
  outdir,
})

if (import.meta.url === pathToFileURL(process.argv[1]).href)
  await Promise.all([build(nodeOptions()), build(browserOptions()), build(demoOptions())])
