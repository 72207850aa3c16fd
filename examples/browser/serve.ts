/**
 * `npm run demo`: a small static server for the demo page. It serves the repository root with the two
 * headers (COOP same-origin, COEP require-corp) that make the page cross-origin isolated, which is what
 * gives browsers SharedArrayBuffer and so the WASM worker pool. No framework; GET and HEAD only.
 *
 *   npm run build && npm run demo            # then open the printed address
 *   npm run demo -- --port 9000
 */
import { createReadStream, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
}

export interface DemoServerOptions {
  /** Folder served at `/` (default: the repository root). */
  readonly root?: string
  /** Serve `/dist/browser/` from this folder instead (tests build into a temporary one). */
  readonly distDir?: string
  /** 0 picks a free port. */
  readonly port?: number
  readonly host?: string
  /** Send COOP/COEP (default true); false serves the page as an ordinary one (no SharedArrayBuffer). */
  readonly isolate?: boolean
}

const PAGE = '/examples/browser/'
const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
}

/** Starts the server; resolves to its address and a `close` (port → { url, close }). */
export const serveDemo = (opts: DemoServerOptions = {}): Promise<{ url: string; server: Server; close: () => Promise<void> }> => {
  const root = resolve(opts.root ?? join(fileURLToPath(import.meta.url), '../../..'))
  const dist = opts.distDir ? resolve(opts.distDir) : undefined
  const server = createServer((req, res) => {
    const send = (code: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers })
      res.end(body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, `${req.method} not allowed`, { allow: 'GET, HEAD' })
    let path: string
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    } catch {
      return send(400, `bad request path ${JSON.stringify(req.url)}`)
    }
    if (path === '/') return send(302, '', { location: PAGE })
    const base = dist && path.startsWith('/dist/browser/') ? dist : root
    const file = resolve(base, `.${dist && base === dist ? path.slice('/dist/browser'.length) : path}`)
    if (file !== base && !file.startsWith(base + sep)) return send(403, 'outside the served folder')
    let st: ReturnType<typeof statSync>
    try {
      st = statSync(file)
    } catch {
      const hint = path.startsWith('/dist/') ? ' (run `npm run build` first)' : ''
      return send(404, `not found: ${path}${hint}`)
    }
    if (st.isDirectory()) {
      if (!path.endsWith('/')) return send(301, '', { location: `${path}/` })
      return serveFile(join(file, 'index.html'))
    }
    return serveFile(file)

    function serveFile(f: string) {
      let size: number
      try {
        size = statSync(f).size
      } catch {
        return send(404, `not found: ${path}`)
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(f)] ?? 'application/octet-stream',
        'content-length': String(size),
        'cache-control': 'no-cache',
        ...(opts.isolate === false ? {} : ISOLATION),
      })
      if (req.method === 'HEAD') return res.end()
      createReadStream(f)
        .on('error', () => res.destroy())
        .pipe(res)
    }
  })
  return new Promise((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      const a = server.address()
      const port = typeof a === 'object' && a ? a.port : opts.port
      ok({
        url: `http://${opts.host ?? '127.0.0.1'}:${port}${PAGE}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections() // a browser's keep-alive connections would hold close() open
          }),
      })
    })
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port')
  const raw = i >= 0 ? process.argv[i + 1] : (process.env.PORT ?? '8080')
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`demo: --port: expected an integer in [0, 65535], got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  serveDemo({ port }).then(
    ({ url }) => process.stdout.write(`softshare demo: ${url}  (cross-origin isolated; Ctrl-C stops)\n`),
    (e: Error) => {
      process.stderr.write(`demo: could not listen on port ${port}: ${e.message}\n`)
      process.exit(1)
    },
  )
}
