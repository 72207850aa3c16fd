/** Loads TensorFlow.js (core + gradients + wasm backend) for the benchmark, and its conv filter gradient. */
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'

export type TF = typeof import('@tensorflow/tfjs-core')

/** tfjs-core with gradients and the wasm backend active (bundled once into a temp dir: nothing is fetched). */
export const loadTfjsWasm = async (): Promise<TF> => {
  const out = join(mkdtempSync(join(tmpdir(), 'softshare-bench-')), 'tfjs.cjs')
  const here = dirname(fileURLToPath(import.meta.url))
  buildSync({
    entryPoints: [join(here, 'tfjs-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    outfile: out,
    logLevel: 'error',
  })
  const require = createRequire(import.meta.url)
  const { tf, setWasmPaths } = require(out) as { tf: TF; setWasmPaths: (p: string) => void }
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`)
  await tf.setBackend('wasm')
  await tf.ready()
  return tf
}

/**
 * conv2d filter gradient on tfjs-wasm, which has no Conv2DBackpropFilter kernel: the standard rewrite as a
 * forward conv over transposed tensors (batch ↔ channels; dy as a filter dilated by the stride), then slice
 * and transpose. Every multiply-add runs in tfjs-wasm's own (XNNPACK) Conv2D.
 */
export const tfConvDw = (tf: TF, x: any, dy: any, [kh, kw]: readonly number[], s: number, pads: readonly number[]): any =>
  tf.tidy(() => {
    const xp = tf.pad(x, [
      [0, 0],
      [pads[0], pads[1]],
      [pads[2], pads[3]],
      [0, 0],
    ])
    const xt = tf.transpose(xp, [3, 1, 2, 0])
    const f = tf.transpose(dy, [1, 2, 0, 3])
    const r = tf.conv2d(xt as any, f as any, 1, 'valid', 'NHWC', [s, s])
    return tf.transpose(tf.slice(r, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3])
  })
