/**
 * Helpers for the browser tests: build the shipped browser bundles (the options of esbuild.config.mjs) into
 * a temporary folder, and find what a browser cannot load in a bundle: imports of Node built-ins and free
 * references to `process`.
 */
import { mkdtempSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BuildOptions, build, type Metafile } from 'esbuild'
import ts from 'typescript'

type Config = { browserOptions: (outdir: string) => BuildOptions; demoOptions: (outdir: string) => BuildOptions }

/** Builds dist/browser's files (index, demo, demo-worker) into a fresh temporary folder; → folder and metafiles. */
export const buildBrowser = async (): Promise<{ dir: string; metafiles: Metafile[] }> => {
  const dir = mkdtempSync(join(tmpdir(), 'softshare-browser-'))
  const cfg = (await import(new URL('../../esbuild.config.mjs', import.meta.url).href)) as Config
  const results = await Promise.all([cfg.browserOptions(dir), cfg.demoOptions(dir)].map((o) => build({ ...o, logLevel: 'silent' })))
  return { dir, metafiles: results.map((r) => r.metafile!) }
}

const builtins = new Set(builtinModules)
/** A module name a browser cannot resolve because it is a Node built-in (`node:fs`, `fs`, `worker_threads`, …). */
export const isNodeBuiltin = (spec: string): boolean => spec.startsWith('node:') || builtins.has(spec.split('/')[0])

/**
 * What in this JavaScript a browser cannot run: static, dynamic or `require` imports of Node built-ins, and
 * any identifier `process` other than a property name (`globalThis.process` is fine: it is undefined there).
 * Text inside strings (e.g. a Node worker's source) is not code and is not flagged.
 */
export const browserProblems = (js: string, name = 'bundle.js'): string[] => {
  const sf = ts.createSourceFile(name, js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS)
  const out: string[] = []
  const where = (n: ts.Node) => `${name}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`
  const spec = (n: ts.Node | undefined, via: string) => {
    if (n && ts.isStringLiteralLike(n) && isNodeBuiltin(n.text)) out.push(`${where(n)}: ${via} of the Node built-in '${n.text}'`)
  }
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) spec(n.moduleSpecifier, 'import')
    else if (ts.isCallExpression(n)) {
      if (n.expression.kind === ts.SyntaxKind.ImportKeyword) spec(n.arguments[0], 'dynamic import')
      else if (ts.isIdentifier(n.expression) && /^_*require\d*$/.test(n.expression.text)) spec(n.arguments[0], 'require')
    } else if (ts.isIdentifier(n) && n.text === 'process') {
      const p = n.parent
      const isPropertyName =
        (ts.isPropertyAccessExpression(p) && p.name === n) ||
        ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === n)
      if (!isPropertyName) out.push(`${where(n)}: reference to \`process\` (${p.getText(sf).slice(0, 60)})`)
    }
    ts.forEachChild(n, visit)
  }
  visit(sf)
  return out
}
