// Summarises a V8 .cpuprofile: self time by function (and by file), top N.
//   node bench/lib/cpuprofile-top.mjs FILE [N]
import fs from 'node:fs'
const [file, n = '30'] = process.argv.slice(2)
const p = JSON.parse(fs.readFileSync(file, 'utf8'))
const byId = new Map(p.nodes.map((x) => [x.id, x]))
const self = new Map()
const dt = p.timeDeltas
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const parent = new Map()
for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id)
/** Native frames (no url) are named after their nearest JavaScript caller. */
const frameOf = (id) => {
  const f = byId.get(id).callFrame
  if (f.url || !parent.has(id)) return f
  let q = parent.get(id)
  while (q !== undefined && !byId.get(q).callFrame.url) q = parent.get(q)
  if (q === undefined) return f
  const g = byId.get(q).callFrame
  return { ...g, functionName: `${f.functionName || 'native'} in ${g.functionName || '(anonymous)'}` }
}
const agg = (keyOf) => {
  const m = new Map()
  for (const [id, us] of self) {
    const k = keyOf(frameOf(id))
    m.set(k, (m.get(k) ?? 0) + us)
  }
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n))
}
const show = (title, rows) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`)
  for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
}
const short = (u) => u.replace(/^.*\/(node_modules\/|src\/|bench\/)/, '$1')
show(
  'self time by function',
  agg((f) => `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`),
)
show(
  'self time by file',
  agg((f) => short(f.url) || f.functionName),
)
