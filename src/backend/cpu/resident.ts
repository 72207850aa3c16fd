/**
 * Results that stay resident: `read` of a large WASM block returns a host tensor whose `data` is copied out
 * only when first touched, and uploading that host tensor to a later run hands the kernels the block itself.
 * So parameters and optimiser state read back after one step and passed to the next never leave WASM memory
 * (no copy out, no copy in). Touching `data` copies it out (the caller may then do anything with it, the block
 * is let go); `donate` lets go of the block of a tensor the caller will not read again (a compiled step's old
 * state), which then refuses `data`. Blocks of untouched tensors are kept until more than `capBytes` are held:
 * those whose tensor was garbage collected are let go, then the oldest are copied out, so memory stays
 * bounded whether or not the caller donates.
 */
import { fmt, type Shape } from '../../tensor/shape.ts'
import type { HostTensor } from '../../tensor/host.ts'

type F = Float32Array

/** Below this many floats a result is copied out at once (pinning tiny blocks gains nothing). */
const LAZY_MIN = 4096

export interface Residency {
  /** A host tensor for block `b` (kept alive for it); undefined for small blocks (copy them out). */
  readonly read: (b: F, shape: Shape) => HostTensor | undefined
  /** The block behind a host tensor `read` returned and nobody touched, with one more reference for the executor. */
  readonly upload: (h: HostTensor) => F | undefined
  /** Drops one reference to `b`; true when `b` is managed here (the caller must not free it). */
  readonly release: (b: F) => boolean
  /** Lets go of a resident tensor's block; its `data` throws from now on. False when `h` is not resident here. */
  readonly donate: (h: HostTensor) => boolean
  /** Bytes held for untouched resident tensors. */
  readonly heldBytes: () => number
}

interface Entry {
  readonly ref: WeakRef<HostTensor>
  readonly b: F
  state: 'lazy' | 'copied' | 'donated'
  data?: F
}

/**
 * Residency over the blocks of one backend; `free` returns a block to the runtime. The default cap (256 MiB) keeps
 * long multi-run processes lean; a two-task ResNet-34's parameters and Adam state (3 × 170 MB) need about 1 GiB
 * (`cpuBackend({ residentBytes })`).
 */
export const residency = (free: (b: F) => void, capBytes = 256 * 2 ** 20): Residency => {
  // references per block: the executor's (until `release`) plus one per untouched resident tensor
  const refs = new Map<F, number>()
  const entries = new WeakMap<HostTensor, Entry>()
  const order: Entry[] = []
  let held = 0
  let lazy = 0
  const unref = (b: F): void => {
    const n = refs.get(b)! - 1
    if (n > 0) refs.set(b, n)
    else {
      refs.delete(b)
      free(b)
    }
  }
  const letGo = (e: Entry, state: 'copied' | 'donated'): void => {
    if (state === 'copied') e.data = e.b.slice()
    e.state = state
    lazy--
    held -= e.b.byteLength
    unref(e.b)
  }
  const trim = (): void => {
    if (held <= capBytes) return
    // blocks of collected tensors first (free, no copy), then copies of the oldest live ones
    for (const e of order) if (e.state === 'lazy' && !e.ref.deref()) letGo(e, 'donated')
    while (held > capBytes && order.length) {
      const e = order.shift()!
      if (e.state !== 'lazy') continue
      const h = e.ref.deref()
      if (h) {
        entries.delete(h)
        letGo(e, 'copied')
      } else letGo(e, 'donated')
    }
  }
  return {
    read: (b, shape) => {
      if (b.length < LAZY_MIN) return undefined
      // a block the executor still holds: its reference plus this tensor's
      refs.set(b, (refs.get(b) ?? 1) + 1)
      const e: Entry = { ref: undefined as unknown as WeakRef<HostTensor>, b, state: 'lazy' }
      const h: HostTensor = {
        kind: 'host',
        shape: [...shape],
        get data(): F {
          if (e.state === 'donated')
            throw new Error(
              `cpu backend: this ${fmt(shape)} tensor was donated (an argument donated to a compiled call, or a training state a later step replaced); its data is gone`,
            )
          if (e.state === 'lazy') {
            entries.delete(h)
            letGo(e, 'copied')
          }
          return e.data!
        },
      }
      ;(e as { ref: WeakRef<HostTensor> }).ref = new WeakRef(h)
      entries.set(h, e)
      // entries let go of (touched, donated) leave the queue here, so it stays about as long as the live ones
      if (order.length > 64 + 2 * lazy) order.splice(0, order.length, ...order.filter((q) => q.state === 'lazy'))
      order.push(e)
      lazy++
      held += b.byteLength
      trim()
      return h
    },
    upload: (h) => {
      const e = entries.get(h)
      if (e?.state !== 'lazy') return undefined
      refs.set(e.b, refs.get(e.b)! + 1)
      return e.b
    },
    release: (b) => {
      if (!refs.has(b)) return false
      unref(b)
      return true
    },
    donate: (h) => {
      const e = entries.get(h)
      if (e?.state !== 'lazy') return false
      entries.delete(h)
      letGo(e, 'donated')
      return true
    },
    heldBytes: () => held,
  }
}
