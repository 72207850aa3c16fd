import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { handMadeSafetensors } from './fixtures.ts'

const root = join(import.meta.dirname, '..', '..')

/**
 * The environment without the `npm_*` variables of an enclosing `npm test` (a nested npm reads them as its own
 * config, e.g. this checkout as its prefix), except where the cache and config files are.
 */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|userconfig|globalconfig)$/i.test(k)),
  )

/**
 * A user's project whose lockfile pins softshare's dependencies to this repository's (its non-dev entries, versions
 * and integrities). Why: `npm ci` stored the dependencies' tarballs in the npm cache (by integrity) but not the
 * registry metadata that resolving version ranges needs, so an offline install without a lockfile stops with
 * ENOTCACHED; with one, npm takes every tarball from the cache, as it would for a project with a committed lockfile.
 */
const userProject = (app: string): void => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const packages = Object.fromEntries(Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev))
  const pkg = { name: 'app', version: '1.0.0', private: true, type: 'module' }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  writeFileSync(
    join(app, 'package-lock.json'),
    `${JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0' }, ...packages } }, null, 2)}\n`,
  )
}

test('npm pack, then npm install of the tarball as a user would (offline, from the npm cache): softshare and softshare/node work', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-pack-'))
  const env = cleanEnv()
  // prepack builds dist/ first, as a publish would
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  const [tgz] = readdirSync(dir).filter((f) => f.endsWith('.tgz'))
  const files = execFileSync('tar', ['tzf', join(dir, tgz)], { encoding: 'utf8' })
    .trim()
    .split('\n')
  const tops = new Set(files.map((f) => f.replace(/^package\//, '').split('/')[0]))
  assert.deepEqual([...tops].sort(), ['LICENSE', 'README.md', 'dist', 'package.json'])
  assert.ok(files.includes('package/dist/node/node.js') && files.includes('package/dist/types/node/index.d.ts'))
  const app = join(dir, 'app')
  mkdirSync(app)
  userProject(app)
  // --offline: every package comes from the npm cache that `npm ci` filled; the test never reaches the network.
  // Optional dependencies are not omitted: the app gets the same set as this repository's own `npm ci`.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, tgz)], {
    cwd: app,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  writeFileSync(join(app, 'hand.safetensors'), handMadeSafetensors())
  // IDX (MNIST layout): 0, 0, type 0x08 (unsigned bytes), rank, big-endian sizes, data: two 2×2 images, two labels
  writeFileSync(
    join(app, 'images.idx3-ubyte'),
    Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 51, 102, 255, 255, 0, 0]),
  )
  writeFileSync(join(app, 'labels.idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]))
  writeFileSync(
    join(app, 'main.mjs'),
    `import * as n from 'softshare/node'
import { cpuBackend, matmul, run, tensor } from 'softshare'
const need = ['load300W', 'readPts', 'loadLabelledImages', 'loadMnist', 'saveCheckpoint', 'loadCheckpoint', 'fitRun', 'openRun', 'readEvents', 'jsonlLog']
const missing = need.filter((k) => typeof n[k] !== 'function')
const [y] = await run([matmul(tensor([[1, 2]]), tensor([[3], [4]]))], { backend: cpuBackend() })
const hand = n.loadCheckpoint('hand.safetensors').tree.a
const mnist = n.loadMnist('images.idx3-ubyte', 'labels.idx1-ubyte', { standardize: 'none' })
n.saveCheckpoint('ck.safetensors', { w: tensor([1.5, 2]) })
console.log(JSON.stringify({
  missing,
  matmul: y.data[0],
  hand: { shape: hand.shape, data: [...hand.data] },
  mnist: mnist._tag === 'Right' ? { shape: mnist.right.images.shape, pixel: mnist.right.images.data[1], labels: [...mnist.right.labels.data] } : mnist.left,
  back: [...n.loadCheckpoint('ck.safetensors').tree.w.data],
}))
process.exit(0)
`,
  )
  const installed = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).dependencies
  assert.deepEqual(installed, { softshare: `file:../${tgz}` })
  const out = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop() as string)
  assert.deepEqual(out, {
    missing: [],
    matmul: 11,
    hand: { shape: [2], data: [1.5, -2] },
    mnist: { shape: [2, 2, 2, 1], pixel: 1, labels: [7, 3] },
    back: [1.5, 2],
  })
})
