import { generateFaces } from '../src/data/synthetic-faces.ts'
import { key } from '../src/tensor/prng.ts'
for (let rep = 0; rep < 3; rep++)
  for (const domain of ['A', 'B'] as const) {
    const t = performance.now()
    generateFaces(key(rep), { n: 2000, domain })
    console.log(domain, Math.round(2000 / ((performance.now() - t) / 1000)), 'faces/s')
  }
