/** Throughput of the synthetic face generator: `npx tsx bench/faces.ts [size] [n]` prints faces per second per domain. */
import { generateFaces } from '../src/data/synthetic-faces.ts'
import { key } from '../src/tensor/prng.ts'

const size = Number(process.argv[2] ?? 48)
const n = Number(process.argv[3] ?? 2000)
for (let rep = 0; rep < 3; rep++)
  for (const domain of ['A', 'B'] as const) {
    const t = performance.now()
    generateFaces(key(rep), { n, size, domain })
    const s = (performance.now() - t) / 1000
    console.log(`domain ${domain} ${size}x${size}: ${Math.round(n / s)} faces/s${rep === 0 ? ' (cold)' : ''}`)
  }
