/** Times one traced forward+backward of the small ResNet on cpu (prints; no assertions). */
import { resnet, resnetLayouts } from '../src/nn/resnet.ts'
import { cpuBackend, key, normal, mean, square, run, vjp, onesLike } from '../src/index.ts'
const c = resnetLayouts.small(1, 13, Number(process.argv[2] ?? 8))
const { params, state } = resnet.init(key(0), c)
const x = normal(key(1), [32, 48, 48, 1])
const be = cpuBackend()
for (let i = 0; i < 3; i++) {
  const t0 = performance.now()
  const { out, vjp: back } = vjp((p: any) => mean(square(resnet.apply(p, x, state, { training: true, config: c }).out)), params)
  const g = back(onesLike(out))
  const t1 = performance.now()
  await run({ out, g } as any, { backend: be })
  console.log('trace', (t1 - t0).toFixed(0), 'run', (performance.now() - t1).toFixed(0), 'ms')
}
