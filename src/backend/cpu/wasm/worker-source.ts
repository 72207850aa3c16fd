/**
 * Source of a kernel worker (CommonJS, run with `eval: true` so it loads without tsx or a file path).
 * It instantiates the kernel module over the shared memory, marks itself ready, then serves jobs:
 * wait for its sequence word to change, run the job, publish the sequence number as done.
 * Control words per worker (SLOT = 32 int32): 0 seq, 1 done, 2 ready, 3 error, 4 op, 5.. args.
 */
export const workerSource = `
const { workerData } = require('node:worker_threads')
const { module, memory, ctrl: sab, id } = workerData
const e = new WebAssembly.Instance(module, { env: { memory } }).exports
const ctrl = new Int32Array(sab)
const b = id * 32
let seen = Atomics.load(ctrl, b) // read before announcing readiness: the first job bumps it
Atomics.store(ctrl, b + 2, 1)
for (;;) {
  Atomics.wait(ctrl, b, seen)
  seen = Atomics.load(ctrl, b)
  const op = ctrl[b + 4]
  const a = Array.from(ctrl.subarray(b + 5, b + 32))
  try {
    if (op === 1) e.gemm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11])
    else if (op === 2) e.im2col(...a.slice(0, 15))
    else if (op === 3) e.col2im(...a.slice(0, 15))
    else if (op === 4) e.convRows(...a.slice(0, 20))
    else throw new Error('unknown op ' + op)
  } catch (err) {
    Atomics.store(ctrl, b + 3, 1)
  }
  Atomics.store(ctrl, b + 1, seen)
  Atomics.notify(ctrl, b + 1)
}
`
