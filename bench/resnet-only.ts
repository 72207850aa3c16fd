/** The ResNet-18 training-step table of `npm run bench -- cpu` alone (softshare cpu vs PyTorch and tfjs-wasm); batch sizes as arguments (default 1 8). */
import { availableParallelism, loadavg } from 'node:os'
import { wasmRuntime } from '../src/backend/cpu/wasm/runtime.ts'
import { benchResNet, resnetTable } from './cpu/resnet.ts'
import { loadTfjsWasm } from './cpu/tfjs.ts'
import { loadTorch } from './cpu/torch.ts'

const rt = wasmRuntime()
for (let i = 0; i < 300 && rt.threads() < availableParallelism(); i++) await new Promise((r) => setTimeout(r, 10))
const tf = await loadTfjsWasm()
const torchOrWhy = await loadTorch(2)
const torch = typeof torchOrWhy === 'string' ? undefined : torchOrWhy
const batches = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0)
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
console.log(new Date().toISOString(), 'load', load(), 'threads', rt.threads(), 'PyTorch', torch ? torch.version : torchOrWhy)
console.log(resnetTable(await benchResNet(tf, torch, (s) => console.error(s), batches.length ? batches : undefined)))
console.log(new Date().toISOString(), 'load', load())
torch?.close()
process.exit(0)
