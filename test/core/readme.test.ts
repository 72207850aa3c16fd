import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'

// Every ```ts block of the README runs as written (imports of 'softshare' point at src/): the README stays true.
const root = resolve(import.meta.dirname, '../..')
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])

test('the README has runnable TypeScript examples', () => {
  assert.ok(blocks.length >= 2, `found ${blocks.length} ts blocks`)
})

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs`, () => {
    const dir = mkdtempSync(join(root, 'node_modules', '.readme-'))
    try {
      const file = join(dir, `example-${i}.mts`)
      const src = code.replaceAll(
        /from 'softshare(\/testing|\/node)?'/g,
        (_m, sub) =>
          `from '${join(root, sub === '/testing' ? 'src/testing/index.ts' : sub === '/node' ? 'src/node/index.ts' : 'src/index.ts')}'`,
      )
      writeFileSync(file, `${src}\nexport {}\n`)
      execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'pipe', timeout: 120_000 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
