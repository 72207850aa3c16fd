/** The ResNet-18 training-step table of `npm run bench -- cpu` alone (softshare cpu vs tfjs-wasm). */
import { availableParallelism, loadavg } from 'node:os'
import { wasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { benchResNet, resnetTable } from './cpu/resnet.ts'
import { loadTfjsWasm } from './cpu/tfjs.ts'
const rt = wasmRuntime()
for (let i = 0; i < 300 && rt.threads() < availableParallelism(); i++) await new Promise((r) => setTimeout(r, 10))
const tf = await loadTfjsWasm()
console.log(
  new Date().toISOString(),
  'load',
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
  'threads',
  rt.threads(),
)
console.log(resnetTable(await benchResNet(tf, (s) => console.error(s))))
console.log(
  new Date().toISOString(),
  'load',
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
)
process.exit(0)
