/**
 * A small ResNet-like network built directly from primitives (conv2d, relu, add, avgPool, matmul,
 * softmaxCrossEntropy), for benches that must not depend on src/nn: stem conv, two residual blocks,
 * 2x2 average pool, two more blocks, global average pool, dense → 10 classes.
 */
import * as ops from '../../src/index.ts'

type Params = Record<string, ops.Tensor>

const conv = (x: ops.Tensor, w: ops.Tensor) => ops.bind(ops.primitives.conv2d, [x, w], { strides: [1, 1], pads: [1, 1, 1, 1] })
const block = (x: ops.Tensor, w1: ops.Tensor, w2: ops.Tensor) => ops.relu(ops.add(conv(ops.relu(conv(x, w1)), w2), x))

/** Mean cross-entropy when the primitive exists, else mean squared error against the one-hot targets. */
const lossOf = (logits: ops.Tensor, targets: ops.HostTensor) =>
  ops.primitives.softmaxCrossEntropy
    ? ops.mean(ops.bind(ops.primitives.softmaxCrossEntropy, [logits, targets]))
    : ops.mean(ops.square(ops.sub(logits, targets)))

/** Loss of the network on a batch `x` `[B,S,S,3]` with one-hot `targets` `[B,10]`. */
export const resnetLoss = (p: Params, x: ops.HostTensor, targets: ops.HostTensor): ops.Tensor => {
  let h = ops.relu(conv(ops.constant(x), p.stem))
  h = block(block(h, p.a1, p.a2), p.b1, p.b2)
  h = ops.bind(ops.primitives.avgPool, [h], { size: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] })
  h = block(block(h, p.c1, p.c2), p.d1, p.d2)
  const pooled = ops.mean(h, [1, 2])
  return lossOf(ops.matmul(pooled, p.dense), targets)
}

/** One SGD step's graph (loss and updated parameters) for a fixed batch and parameters. */
export const resnetStep = (key: ops.Key, cfg: { batch: number; size: number; width: number }) => {
  const ks = ops.split(key, 12)
  const w = cfg.width
  const he = (k: ops.Key, shape: number[]) => ops.normal(k, shape, 0, Math.sqrt(2 / (shape[0] * shape[1] * shape[2])))
  const host: Record<string, ops.HostTensor> = { stem: he(ks[0], [3, 3, 3, w]) }
  ;['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'd1', 'd2'].forEach((n, i) => {
    host[n] = he(ks[i + 1], [3, 3, w, w])
  })
  host.dense = ops.normal(ks[9], [w, 10], 0, 1 / Math.sqrt(w))
  const x = ops.normal(ks[10], [cfg.batch, cfg.size, cfg.size, 3])
  const labels = ops.uniform(ks[11], [cfg.batch]).data
  const t = new Float32Array(cfg.batch * 10)
  labels.forEach((u, i) => {
    t[i * 10 + Math.floor(u * 10)] = 1
  })
  const targets = ops.tensor(t, [cfg.batch, 10])
  return {
    next: () => {
      const p = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, ops.constant(v)]))
      const { value, grad } = ops.valueAndGrad((q: Params) => resnetLoss(q, x, targets))(p)
      const upd = Object.fromEntries(Object.keys(p).map((k) => [k, ops.sub(p[k], ops.mul((grad as Params)[k], 0.01))]))
      return { loss: value, params: upd }
    },
  }
}
