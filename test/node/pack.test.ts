import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')

test('npm pack: the tarball holds dist/, README and LICENSE only, and softshare/node works when installed from it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-pack-'))
  // prepack builds dist/ first, as a publish would
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  const [tgz] = readdirSync(dir).filter((f) => f.endsWith('.tgz'))
  const files = execFileSync('tar', ['tzf', join(dir, tgz)], { encoding: 'utf8' })
    .trim()
    .split('\n')
  const tops = new Set(files.map((f) => f.replace(/^package\//, '').split('/')[0]))
  assert.deepEqual([...tops].sort(), ['LICENSE', 'README.md', 'dist', 'package.json'])
  assert.ok(files.includes('package/dist/node/node.js') && files.includes('package/dist/types/node/index.d.ts'))
  // install: unpack into node_modules/softshare; its dependencies come from this checkout (no network)
  const app = join(dir, 'app')
  mkdirSync(join(app, 'node_modules'), { recursive: true })
  execFileSync('tar', ['xzf', join(dir, tgz), '-C', join(app, 'node_modules')])
  renameSync(join(app, 'node_modules', 'package'), join(app, 'node_modules', 'softshare'))
  const deps = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies)
  for (const d of deps) {
    mkdirSync(dirname(join(app, 'node_modules', d)), { recursive: true })
    symlinkSync(join(root, 'node_modules', d), join(app, 'node_modules', d))
  }
  writeFileSync(
    join(app, 'main.mjs'),
    `import * as n from 'softshare/node'
import { cpuBackend, matmul, run, tensor } from 'softshare'
const need = ['load300W', 'readPts', 'loadLabelledImages', 'loadMnist', 'saveCheckpoint', 'loadCheckpoint', 'fitRun', 'openRun', 'readEvents', 'jsonlLog']
const missing = need.filter((k) => typeof n[k] !== 'function')
const [y] = await run([matmul(tensor([[1, 2]]), tensor([[3], [4]]))], { backend: cpuBackend() })
n.saveCheckpoint('ck.safetensors', { w: tensor([1.5, 2]) })
const back = n.loadCheckpoint('ck.safetensors').tree.w.data
console.log(JSON.stringify({ missing, matmul: y.data[0], back: [...back] }))
process.exit(0)
`,
  )
  const out = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop() as string)
  assert.deepEqual(out, { missing: [], matmul: 11, back: [1.5, 2] })
})
