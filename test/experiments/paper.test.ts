/**
 * Every paper experiment at the smoke preset through the command line: the files exist, SVGs parse, PNGs decode,
 * and the claim lines of report.md carry results.json's numbers. Bad input exits 2 with one line, before training.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Resvg } from '@resvg/resvg-js'
import { PNG } from 'pngjs'
import { isRight } from 'fp-ts/lib/Either.js'
import { decodeExperimentConfig } from '../../src/experiments/config.ts'
import {
  blockBoundaries,
  type Claim,
  experimentNames,
  fig3Layers,
  fmtSummary,
  judge,
  paperPresets,
  summarise,
} from '../../src/experiments/paper/index.ts'
import { resnetLayouts } from '../../src/nn/resnet.ts'

const root = join(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(join(tmpdir(), 'softshare-paper-'))
after(() => rmSync(tmp, { recursive: true, force: true }))
const paper = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', 'paper.ts'), ...args], { cwd: root, encoding: 'utf8' })

test('paper: every smoke experiment writes report.md, results.json, log.jsonl and figures that open', () => {
  const out = join(tmp, 'reports')
  const r = paper('all', '--preset', 'smoke', '--out', out)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /run \d+\/\d+ \S+ epoch 1\/1 step \d+\/\d+ .*ETA/, 'progress lines outside a TTY')
  for (const name of experimentNames) {
    const dir = join(out, name)
    const files = readdirSync(dir)
    for (const f of ['report.md', 'results.json', 'log.jsonl']) assert.ok(files.includes(f), `${name}/${f} missing`)
    const md = readFileSync(join(dir, 'report.md'), 'utf8')
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))
    const logLines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n')
    assert.ok(logLines.length > 0 && JSON.parse(logLines[0]).experiment === name)
    const svgs = files.filter((f) => f.endsWith('.svg'))
    assert.ok(svgs.length >= 1, `${name}: no figures`)
    for (const svg of svgs) {
      const text = readFileSync(join(dir, svg), 'utf8')
      const img = new Resvg(text) // throws on malformed SVG
      assert.ok(img.width > 100 && img.height > 100)
      assert.ok(md.includes(`](${svg})`), `${name}/report.md links ${svg}`)
      const png = PNG.sync.read(readFileSync(join(dir, svg.replace(/\.svg$/, '.png'))))
      assert.ok(png.width >= img.width && png.height >= img.height)
      let dark = 0
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 128) dark++
      assert.ok(dark > 100, `${name}/${svg}: the PNG is blank`)
    }
    // every claim line of the report carries the numbers of results.json
    const claims = results.claims as Claim[]
    assert.ok(claims.length >= 2, `${name}: claims`)
    for (const c of claims) {
      const line = md.split('\n').find((l) => l.startsWith(`| ${c.claim} |`))
      assert.ok(line, `${name}: claim "${c.claim}" missing from report.md`)
      const diff = { mean: c.diff.mean ?? Number.NaN, half: c.diff.half ?? Number.NaN, n: c.diff.n }
      assert.ok(line.includes(fmtSummary(diff, c.scale, 2)), `${name}: "${line}" vs ${JSON.stringify(c.diff)}`)
      assert.ok(line.includes(`**${c.verdict}**`))
    }
    assert.match(md, /_Experiment time: \d+ s\._/)
  }
  const index = readFileSync(join(out, 'README.md'), 'utf8')
  for (const name of experimentNames) assert.ok(index.includes(`[${name}](${name}/report.md)`), `index links ${name}`)
  // table 4's result rows are results.json's summaries
  const t4 = JSON.parse(readFileSync(join(out, 'table4', 'results.json'), 'utf8'))
  const md4 = readFileSync(join(out, 'table4', 'report.md'), 'utf8')
  assert.deepEqual(t4.boundaries, [1, 3, 6])
  for (const run of ['single', 'hard-1+ada', 'cross-stitch+ada', 'laf+ada', 'tucker+ada', 'tt+ada']) {
    const s = t4.summary[run]
    assert.ok(md4.includes(`| ${run} | ${fmtSummary(s.acc, 100, 1)} | ${fmtSummary(s.nme, 100, 2)} |`), `table4 row ${run}`)
    assert.equal(t4.runs[run].length, 2, `${run}: one row per seed`)
  }
  assert.ok(t4.domainShift.length === 2, '`all` includes the domain-shift sweep')
})

test('paper: bad input exits 2 with one clear line, an unwritable output before any training', () => {
  const cases: [string[], RegExp][] = [
    [['table9'], /^paper: unknown experiment "table9" \(expected one of table4, table5, table6, table7, fig3, all\)\n$/],
    [['table4', '--preset', 'huge'], /^paper: --preset: expected one of smoke, default, paper, got "huge"\n$/],
    [['table4', '--seeds', '0'], /^paper: --seeds: expected a positive integer, got "0"\n$/],
    [['table4', '--epochs', '3'], /^paper: --epochs: unknown flag/],
  ]
  for (const [args, re] of cases) {
    const r = paper(...args)
    assert.equal(r.status, 2, args.join(' '))
    assert.match(r.stderr, re)
  }
  const file = join(tmp, 'a-file')
  writeFileSync(file, 'x')
  const t0 = Date.now()
  const r = paper('table4', '--preset', 'smoke', '--out', join(file, 'reports'))
  assert.equal(r.status, 2)
  assert.match(r.stderr, /^paper: cannot write to .*a-file\/reports\/table4 \((ENOTDIR|EEXIST)\)\n$/)
  assert.ok(!existsSync(join(tmp, 'reports-x')))
  assert.ok(Date.now() - t0 < 60_000)
  const bad = join(tmp, 'bad.json')
  writeFileSync(bad, JSON.stringify({ epochs: 'three' }))
  const rc = paper('table4', '--preset', 'smoke', '--config', bad)
  assert.equal(rc.status, 2)
  assert.match(rc.stderr, /^paper: .*bad\.json: epochs: expected a positive integer, got "three"\n$/)
})

test('claims: reproduced only when the whole interval supports the claim; one seed is inconclusive', () => {
  assert.equal(judge('a', [0.02, 0.03, 0.025], 'points').verdict, 'reproduced')
  assert.equal(judge('a', [-0.02, -0.03, -0.025], 'points').verdict, 'not reproduced')
  assert.equal(judge('a', [0.05, -0.04, 0.01], 'points').verdict, 'inconclusive')
  assert.equal(judge('a', [0.05], 'points').verdict, 'inconclusive')
  const s = summarise([1, 2, 3])
  assert.equal(s.mean, 2)
  assert.ok(Math.abs(s.half - 4.303 / Math.sqrt(3)) < 1e-9, 't_{0.975, 2} · sd / √n')
})

test('presets: every base config validates; hard-sharing boundaries and Fig. 3 layers follow the architecture', () => {
  for (const p of Object.values(paperPresets)) assert.ok(isRight(decodeExperimentConfig(p.base)), p.name)
  assert.deepEqual(blockBoundaries(resnetLayouts.small(1, 2, 8)), [1, 3, 6])
  assert.deepEqual(blockBoundaries(resnetLayouts.resnet34(1, 2)), [1, 7, 16, 29])
  assert.deepEqual(fig3Layers(36), [0, 9, 19, 29])
  assert.deepEqual(fig3Layers(9), [0, 2, 4, 7])
})
