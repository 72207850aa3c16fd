// Bundled by bench/cpu/tfjs.ts with esbuild: tfjs-core's Node build leaves out the gradient registry, and
// its ESM build cannot be loaded by Node directly (extensionless imports), so the bench bundles both.
export * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-core/dist/register_all_gradients.js'
export { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
