/** Throughput of the synthetic face generator: `npx tsx bench/faces.ts [size] [n]` prints faces per second per domain. */
import { generateFaces } from '../src/data/synthetic-faces.ts'
import { key } from '../src/tensor/prng.ts'

const size = Number(process.argv[2] ?? 48)
const n = Number(process.argv[3] ?? 2000)
for (let rep = 0; rep < 3; rep++)
  for (const domain of ['A', 'B'] as const) {
    const t = performance.now()
    const cpu = process.cpuUsage()
    generateFaces(key(rep), { n, size, domain })
    const s = (performance.now() - t) / 1000
    const c = process.cpuUsage(cpu)
    const cs = (c.user + c.system) / 1e6
    // per CPU-second too: wall time overstates the cost on a shared, loaded machine
    const note = rep === 0 ? ' (cold)' : ''
    console.log(`domain ${domain} ${size}x${size}: ${Math.round(n / s)} faces/s wall, ${Math.round(n / cs)} per CPU-s${note}`)
  }
