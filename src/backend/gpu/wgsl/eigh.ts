/**
 * `eigh` of a small symmetric k × k matrix on the device, as hand-written WGSL: cyclic Jacobi in one invocation,
 * the same algorithm and output convention as the host kernel (tensor/eigh.ts, eighPackedHost). It exists so that
 * the trace norms' thin path (the T × T Gram of LAF, the l × l core of a randomized SVD) never leaves the device:
 * on the host this op costs a read-back, a wait for the queue and an upload per conv layer and step. gpu.js cannot
 * express it (one output per thread, no private arrays), and a single invocation is enough at these sizes.
 */
import type { FlatPlan } from './gemm.ts'

/** Largest k run on the device (k² floats twice in registers/private memory); bigger ones run on the host. */
export const DEVICE_EIGH_MAX = 16

const f = (v: number): string => {
  const s = String(v)
  return /[.e]/.test(s) ? s : `${s}.0`
}

/** Packed output [k values (descending, |λ| ≤ floor²·max|λ| as 0); k × k vectors as columns, largest component positive]. */
export const eighPlan = (k: number, floor: number): FlatPlan => ({
  groups: [1, 1, 1],
  source: `
const K = ${k}u;
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(1, 1, 1)
fn main() {
  var a: array<f32, ${k * k}>;
  var v: array<f32, ${k * k}>;
  var frob = 0.0;
  // symmetrise: Gram matrices are symmetric only up to rounding
  for (var i = 0u; i < K; i++) {
    for (var j = 0u; j < K; j++) {
      let x = 0.5 * (X[i * K + j] + X[j * K + i]);
      a[i * K + j] = x;
      frob += x * x;
      v[i * K + j] = select(0.0, 1.0, i == j);
    }
  }
  for (var sweep = 0u; sweep < 60u; sweep++) {
    var off = 0.0;
    for (var p = 0u; p < K; p++) { for (var q = p + 1u; q < K; q++) { off += a[p * K + q] * a[p * K + q]; } }
    if (off <= 1e-12 * frob || off == 0.0) { break; }
    for (var p = 0u; p + 1u < K; p++) {
      for (var q = p + 1u; q < K; q++) {
        let apq = a[p * K + q];
        if (apq == 0.0) { continue; }
        let theta = (a[q * K + q] - a[p * K + p]) / (2.0 * apq);
        let t = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
        let c = 1.0 / sqrt(t * t + 1.0);
        let s = t * c;
        for (var r = 0u; r < K; r++) {
          let akp = a[r * K + p];
          let akq = a[r * K + q];
          a[r * K + p] = c * akp - s * akq;
          a[r * K + q] = s * akp + c * akq;
        }
        for (var r = 0u; r < K; r++) {
          let apk = a[p * K + r];
          let aqk = a[q * K + r];
          a[p * K + r] = c * apk - s * aqk;
          a[q * K + r] = s * apk + c * aqk;
        }
        a[p * K + q] = 0.0;
        a[q * K + p] = 0.0;
        for (var r = 0u; r < K; r++) {
          let vkp = v[r * K + p];
          let vkq = v[r * K + q];
          v[r * K + p] = c * vkp - s * vkq;
          v[r * K + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // selection order by descending eigenvalue (stable: equal values keep their index order)
  var order: array<u32, ${k}>;
  var used: array<bool, ${k}>;
  var top = 0.0;
  for (var i = 0u; i < K; i++) { top = max(top, abs(a[i * K + i])); }
  for (var j = 0u; j < K; j++) {
    var best = K;
    for (var i = 0u; i < K; i++) {
      if (!used[i] && (best == K || a[i * K + i] > a[best * K + best])) { best = i; }
    }
    used[best] = true;
    order[j] = best;
  }
  for (var j = 0u; j < K; j++) {
    let c = order[j];
    let lam = a[c * K + c];
    Y[j] = select(lam, 0.0, abs(lam) <= ${f(floor * floor)} * top);
    var big = 0u;
    for (var i = 1u; i < K; i++) { if (abs(v[i * K + c]) > abs(v[big * K + c])) { big = i; } }
    let sgn = select(1.0, -1.0, v[big * K + c] < 0.0);
    for (var i = 0u; i < K; i++) { Y[(i + 1u) * K + j] = sgn * v[i * K + c]; }
  }
}
`,
})
