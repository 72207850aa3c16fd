// Preload (node --import) that gives this process a WebGPU adapter on a machine without a GPU: Dawn's
// OpenGL ES backend over Mesa's llvmpipe, in WebGPU compatibility mode (see bench/webgpu-cpu/run.sh).
// Only for testing the WebGPU code path (WGSL, buffers, dispatch); its timings mean nothing.
import { create, globals } from 'webgpu'

Object.assign(globalThis, globals)
const real = create(['backend=opengles'])
globalThis.navigator = {
  gpu: {
    requestAdapter: (opts = {}) => real.requestAdapter({ featureLevel: 'compatibility', ...opts }),
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
  },
}
