/**
 * Source of a kernel worker: a function of `{ module, memory, ctrl, id, scratch }` that instantiates the
 * kernel module over the shared memory, marks itself ready, then for every new round claims jobs from the
 * shared table until none is left. Mirrors `drain`/`callJob` and CTRL in runtime.ts. Wrapped below for
 * Node (workerData) and for browser Workers (the first message): one loop, two ways to receive its data.
 */
const workerMain = `(workerData) => {
const { module, memory, ctrl: sab, id, scratch } = workerData
const e = new WebAssembly.Instance(module, { env: { memory } }).exports
const ctrl = new Int32Array(sab)
const SEQ = 0, NEXT = 1, COUNT = 2, DONE = 3, ERR = 4, LOCAL_BASE = 5, LOCAL_BYTES = 6, READY = 8, JOBS = 16, JOB_INTS = 32
const run = (b) => {
  const op = ctrl[b]
  const a = Array.from(ctrl.subarray(b + 1, b + JOB_INTS))
  if (op === 1) e.gemm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], scratch)
  else if (op === 2) e.im2col(...a.slice(0, 15))
  else if (op === 3) e.col2im(...a.slice(0, 15))
  else if (op === 4) e.convRows(...a.slice(0, 19), scratch)
  else if (op === 5) e.dwPart(...a.slice(0, 17), ctrl[LOCAL_BASE] + (id + 1) * ctrl[LOCAL_BYTES], scratch)
  else if (op === 6) e.sumParts(...a.slice(0, 6))
  else if (op === 7) e.convImplicit(...a.slice(0, 18), scratch)
  else if (op === 8) e.ew(a[0], a[1], a[2], a[3], a[4])
  else if (op === 9) e.sumRows(a[0], a[1], a[2], a[3], a[4])
  else if (op === 10) e.sumPartsF64(a[0], a[1], a[2], a[3], a[4], a[5])
  else if (op === 11) e.maxPoolRows(...a.slice(0, 15))
  else if (op === 12) e.maxPoolBackImages(...a.slice(0, 16))
  else if (op === 13) e.gramPack(...a.slice(0, 8))
  else if (op === 14) e.gramPack4(...a.slice(0, 8))
  else if (op === 15) e.gramSyrk(...a.slice(0, 6))
  else if (op === 16) e.gramThin(...a.slice(0, 8))
  else throw new Error('unknown op ' + op)
}
let seen = Atomics.load(ctrl, SEQ)
Atomics.store(ctrl, READY + id, 1)
for (;;) {
  Atomics.wait(ctrl, SEQ, seen)
  seen = Atomics.load(ctrl, SEQ)
  for (;;) {
    const w = Atomics.load(ctrl, NEXT)
    if (w >>> 20 !== seen) break
    const i = w & 0xfffff
    const n = Atomics.load(ctrl, COUNT)
    if (i >= n) break
    if (Atomics.compareExchange(ctrl, NEXT, w, w + 1) !== w) continue
    try {
      run(JOBS + i * JOB_INTS)
    } catch (err) {
      Atomics.store(ctrl, ERR, i + 1)
    }
    if (Atomics.add(ctrl, DONE, 1) + 1 === n) Atomics.notify(ctrl, DONE)
  }
}
}`

/** Node worker_threads source (CommonJS, run with `eval: true` so it loads without tsx or a file path). */
export const workerSource = `const { workerData } = require('node:worker_threads');\n(${workerMain})(workerData)\n`

/** Browser Worker source (a classic script from a Blob URL); its data arrives as the first message. */
export const browserWorkerSource = `self.onmessage = (ev) => { self.onmessage = null; (${workerMain})(ev.data) };\n`
