/**
 * `gram` of any number of columns K on the device: a tiled double-float SYRK. The register kernel of gram.ts keeps
 * all K(K+1)/2 sums per thread, which only fits K ≤ 4; Tucker and TT unfoldings on the exact route have K up to
 * rank + oversampling (26 by default) and any K when no rank is given, and a host `gram` reads the whole D × K
 * matrix back every step. Here each workgroup owns one 16 × 16 output tile (a ≤ b tiles only: G is symmetric)
 * and a share of the rows: rows are staged 32 at a time in workgroup memory, each of 64 threads keeps 2 × 2
 * double-float sums of exact f32 products (twoProd + dfAdd, as gram.ts), and a second pass adds the row shares,
 * scales by s and writes gramHost's packed [2K + 1, K] (hi, lo, s). Only the K × K result leaves the device (for
 * the host's float64 eigh of hi + lo). Error: as gram.ts, about D·2⁻⁴⁸ of Σ|xᵢyᵢ| per entry.
 */
import type { FlatPlan } from './gemm.ts'
import { DF, DEVICE_GRAM_MAX_INPUTS, SCALE } from './gram.ts'

/** Output tile edge, rows per staged chunk, invocations per workgroup (8 × 8 threads, 2 × 2 outputs each). */
const TS = 16
const RB = 32
const WG = 64
/** Upper bound on first-pass workgroups (tile pairs × row shares): enough to fill a large GPU. */
const MAX_FIRST = 1024
/** WebGPU's guaranteed workgroups per grid dimension. */
const MAX_DIM = 65535

const u = (v: number): string => `${v >>> 0}u`

/** Upper-triangle tile pairs (ta ≤ tb) of a K × K Gram. */
const tilePairs = (k: number): number => {
  const nt = Math.ceil(k / TS)
  return (nt * (nt + 1)) / 2
}

/** Whether `gram` of n inputs [d, c] runs as the tiled device SYRK (any K whose tile pairs fit one grid dimension). */
export const deviceSyrk = (n: number, c: number): boolean => n <= DEVICE_GRAM_MAX_INPUTS && c >= 1 && tilePairs(n * c) <= MAX_DIM

/** The two passes of the tiled Gram of n inputs [d, c] (K = n·c), for WgslDevice.reduce: partial tiles, then the packed result. */
export const syrkPlan = (n: number, d: number, c: number): { partial: FlatPlan; finish: FlatPlan; partials: number } => {
  const k = n * c
  const nt = Math.ceil(k / TS)
  const pairs = tilePairs(k)
  const chunks = Math.max(1, Math.ceil(d / RB))
  const splits = Math.max(1, Math.min(chunks, Math.floor(MAX_FIRST / pairs), MAX_DIM))
  // column u of A = [X0 | X1 | …] is column u % c of input u / c; out-of-range rows and columns read as 0 (exact)
  const col =
    n === 1
      ? `return X0[r * ${u(c)} + j];`
      : `let t = j / ${u(c)};
  let jj = j % ${u(c)};
${Array.from({ length: n - 1 }, (_, t) => `  if (t == ${u(t)}) { return X${t}[r * ${u(c)} + jj]; }`).join('\n')}
  return X${n - 1}[r * ${u(c)} + jj];`
  const partial = `${DF}
${Array.from({ length: n }, (_, t) => `@group(0) @binding(${t}) var<storage, read> X${t}: array<f32>;`).join('\n')}
@group(0) @binding(${n}) var<storage, read_write> P: array<vec2<f32>>;
var<workgroup> sa: array<f32, ${RB * TS}>;
var<workgroup> sb: array<f32, ${RB * TS}>;
fn col(r: u32, j: u32) -> f32 {
  if (r >= ${u(d)} || j >= ${u(k)}) { return 0.0; }
  ${col}
}
@compute @workgroup_size(${WG}, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  never = nwg.x == 0u;
  // tile pair wg.x → (ta, tb), ta ≤ tb, row-major over the upper triangle
  var ta = 0u;
  var rest = wg.x;
  loop {
    if (rest < ${u(nt)} - ta) { break; }
    rest -= ${u(nt)} - ta;
    ta++;
  }
  let tb = ta + rest;
  let a0 = (lid / 8u) * 2u;
  let b0 = (lid % 8u) * 2u;
  var acc: array<vec2<f32>, 4>;
  for (var ch = wg.y; ch < ${u(chunks)}; ch += ${u(splits)}) {
    let r0 = ch * ${u(RB)};
    for (var q = lid; q < ${u(RB * TS)}; q += ${u(WG)}) {
      let r = r0 + q / ${u(TS)};
      let cc = q % ${u(TS)};
      sa[q] = col(r, ta * ${u(TS)} + cc);
      sb[q] = col(r, tb * ${u(TS)} + cc);
    }
    workgroupBarrier();
    for (var rr = 0u; rr < ${u(RB)}; rr++) {
      let x0 = sa[rr * ${u(TS)} + a0];
      let x1 = sa[rr * ${u(TS)} + a0 + 1u];
      let y0 = sb[rr * ${u(TS)} + b0];
      let y1 = sb[rr * ${u(TS)} + b0 + 1u];
      acc[0] = dfAdd(acc[0], twoProd(x0, y0));
      acc[1] = dfAdd(acc[1], twoProd(x0, y1));
      acc[2] = dfAdd(acc[2], twoProd(x1, y0));
      acc[3] = dfAdd(acc[3], twoProd(x1, y1));
    }
    workgroupBarrier();
  }
  let base = (wg.y * ${u(pairs)} + wg.x) * ${u(TS * TS)} + a0 * ${u(TS)} + b0;
  P[base] = acc[0];
  P[base + 1u] = acc[1];
  P[base + ${u(TS)}] = acc[2];
  P[base + ${u(TS + 1)}] = acc[3];
}
`
  const finish = `${DF}
@group(0) @binding(0) var<storage, read> P: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
var<workgroup> red: array<f32, ${WG}>;
// entry (a, b), a ≤ b: the sum of its row shares
fn cell(a: u32, b: u32) -> vec2<f32> {
  let ta = a / ${u(TS)};
  let tb = b / ${u(TS)};
  let pair = ta * (${u(2 * nt + 1)} - ta) / 2u + (tb - ta);
  let off = pair * ${u(TS * TS)} + (a % ${u(TS)}) * ${u(TS)} + b % ${u(TS)};
  var g = vec2<f32>(0.0, 0.0);
  for (var s = 0u; s < ${u(splits)}; s++) { g = dfAdd(g, P[s * ${u(pairs * TS * TS)} + off]); }
  return g;
}
@compute @workgroup_size(${WG}, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  never = nwg.x == 0u;
  // every workgroup finds the largest diagonal entry itself (K cells), so the scale needs no third pass
  var m = 0.0;
  for (var j = lid; j < ${u(k)}; j += ${u(WG)}) { m = max(m, cell(j, j).x); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = ${u(WG / 2)}; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let top = max(red[0], 0.0);
${SCALE}
  for (var i = wg.x * ${u(WG)} + lid; i < ${u(k * k)}; i += nwg.x * ${u(WG)}) {
    let a = i / ${u(k)};
    let b = i % ${u(k)};
    let g = cell(min(a, b), max(a, b));
    Y[i] = (g.x * inv) * inv;
    Y[${u(k * k)} + i] = (g.y * inv) * inv;
  }
  if (wg.x == 0u) {
    for (var j = lid; j < ${u(k)}; j += ${u(WG)}) { Y[${u(2 * k * k)} + j] = ldexp(1.0, e); }
  }
}
`
  return {
    partial: { source: partial, groups: [pairs, splits, 1] },
    finish: { source: finish, groups: [Math.max(1, Math.min(MAX_FIRST, Math.ceil((k * k) / WG))), 1, 1] },
    partials: splits * pairs * TS * TS * 2,
  }
}
