/**
 * The trace norms' thin path on the device: `gram` (the float64-accumulated Gram of LAF's T stacked task weights,
 * T × T) and the `eigh` of its hi + lo result, as hand-written WGSL. Both were host kernels (a read-back, a wait
 * for the queue and an upload per conv layer and step); gpu.js cannot express either (a reduction with
 * double-float state, a private 2 × 2 solve). WGSL has no f64, so both use double-float (hi + lo f32 pairs)
 * arithmetic built from exact f32 operations only:
 * - products are exact: each factor is split by masking its low 12 mantissa bits (no Veltkamp constant, so
 *   no compiler contraction can break it) and the four partial products are summed by Dekker's two-product;
 * - sums use Knuth's two-sum (six adds, no multiply to contract).
 * Floor: a sum of D exact products in double-float carries a relative error of about D·2⁻⁴⁸ of Σ|xᵢyᵢ| (1e-8
 * at D = 2.4M, the largest ResNet-34 conv; 1e-11 at 3·3·64·64), so hi + lo resolves λ to that fraction of λ₁ and
 * the kernel's floor stays the host's float64-Gram floor, 1e-5 (σ ≤ 1e-5·σ₁ count as 0; test/backend/gpu-tiled).
 */
import type { FlatPlan } from './gemm.ts'

/** Largest column count K = n·c of a device `gram` (its K(K+1)/2 double-float sums live in registers). */
export const DEVICE_GRAM_MAX_K = 4
/** Most input matrices of a device `gram` (one storage binding each, plus the partial sums: compatibility mode allows 4). */
export const DEVICE_GRAM_MAX_INPUTS = 3
/** Invocations per workgroup (the compatibility-mode limit is 128). */
const WG = 128
/** Workgroups of the first pass: enough to fill a large GPU; a second pass adds their partial sums. */
const MAX_GROUPS = 256

/** Double-float helpers (value = x + y, |y| ≤ ulp(x)/2); shared with the tiled Gram (syrk.ts). */
export const DF = `
var<private> never: bool;
// a value the compiler cannot see through: shader compilers that treat f32 math as associative (Mesa's NIR does
// for ops not marked exact, and WGSL cannot mark them) would otherwise fold (a + b) − a to b and lose the error terms
fn opaque(x: f32) -> f32 { return select(x, 0.0, never); }
fn twoSum(a: f32, b: f32) -> vec2<f32> {
  let s = opaque(a + b);
  let bb = opaque(s - a);
  return vec2<f32>(s, (a - (s - bb)) + (b - bb));
}
fn norm(a: f32, b: f32) -> vec2<f32> {
  let s = opaque(a + b);
  return vec2<f32>(s, b - (s - a));
}
fn hi12(a: f32) -> f32 { return bitcast<f32>(bitcast<u32>(a) & 0xFFFFF000u); }
fn twoProd(a: f32, b: f32) -> vec2<f32> {
  let p = opaque(a * b);
  let ah = hi12(a);
  let al = a - ah;
  let bh = hi12(b);
  let bl = b - bh;
  return vec2<f32>(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl);
}
fn dfAdd(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let s = twoSum(a.x, b.x);
  return norm(s.x, s.y + (a.y + b.y));
}
fn dfMul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let p = twoProd(a.x, b.x);
  return norm(p.x, p.y + (a.x * b.y + a.y * b.x));
}
fn dfDiv(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let q = a.x / b.x;
  let r = dfAdd(a, -dfMul(vec2<f32>(q, 0.0), b));
  return norm(q, r.x / b.x);
}
`

/**
 * WGSL statements that turn `top` (the largest diagonal entry of the unscaled Gram) into the scale exponent `e` and
 * `inv` = 2^−e: s = 2^e, e = round(log2 √top), e in [−126, 127] (frexp: √top = f·2^x, f in [0.5, 1)), as gramHost.
 */
export const SCALE = `  var e = 0i;
  if (top > 0.0 && top <= 3.4e38) {
    let fr = frexp(sqrt(top));
    e = clamp(select(fr.exp - 1i, fr.exp, fr.fract >= 0.70710678), -126i, 127i);
  }
  let inv = ldexp(1.0, -e);`

/** The K(K+1)/2 pairs (a ≤ b) of Gram entries, in row order. */
const pairs = (k: number): [number, number][] => {
  const out: [number, number][] = []
  for (let a = 0; a < k; a++) for (let b = a; b < k; b++) out.push([a, b])
  return out
}

/** Whether `gram` of n inputs [d, c] runs on the device. */
export const deviceGram = (n: number, c: number): boolean => n <= DEVICE_GRAM_MAX_INPUTS && n * c <= DEVICE_GRAM_MAX_K

/**
 * `gram` of n inputs [d, c] in two passes of one submission: `partial` (groups × pairs double-float sums over
 * a grid-stride share of the rows, reduced in workgroup memory) and `finish` (adds them, scales by s, a power
 * of two near the largest column norm, packs [2K + 1, K]: hi, lo, s; as the host kernel, tensor/dense.ts gramHost).
 */
export const gramPlan = (n: number, d: number, c: number): { partial: FlatPlan; finish: FlatPlan; partials: number } => {
  const k = n * c
  const ps = pairs(k)
  const groups = Math.max(1, Math.min(MAX_GROUPS, Math.ceil(d / (WG * 16))))
  const col = (u: number) => `X${Math.floor(u / c)}[r * ${c}u + ${u % c}u]`
  const partial = `${DF}
${Array.from({ length: n }, (_, t) => `@group(0) @binding(${t}) var<storage, read> X${t}: array<f32>;`).join('\n')}
@group(0) @binding(${n}) var<storage, read_write> P: array<vec2<f32>>;
var<workgroup> sh: array<vec2<f32>, ${WG}>;
@compute @workgroup_size(${WG}, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  never = nwg.x == 0u;
  var acc: array<vec2<f32>, ${ps.length}>;
  for (var r = wg.x * ${WG}u + lid; r < ${d}u; r += ${groups * WG}u) {
${Array.from({ length: k }, (_, u) => `    let v${u} = ${col(u)};`).join('\n')}
${ps.map(([a, b], p) => `    acc[${p}] = dfAdd(acc[${p}], twoProd(v${a}, v${b}));`).join('\n')}
  }
  for (var p = 0u; p < ${ps.length}u; p++) {
    sh[lid] = acc[p];
    workgroupBarrier();
    for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
      if (lid < s) { sh[lid] = dfAdd(sh[lid], sh[lid + s]); }
      workgroupBarrier();
    }
    if (lid == 0u) { P[wg.x * ${ps.length}u + p] = sh[0]; }
    workgroupBarrier();
  }
}
`
  const finish = `${DF}
@group(0) @binding(0) var<storage, read> P: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(1, 1, 1)
fn main(@builtin(num_workgroups) nwg: vec3<u32>) {
  never = nwg.x == 0u;
  var g: array<vec2<f32>, ${ps.length}>;
  for (var w = 0u; w < ${groups}u; w++) {
    for (var p = 0u; p < ${ps.length}u; p++) { g[p] = dfAdd(g[p], P[w * ${ps.length}u + p]); }
  }
  let top = max(${ps
    .map(([a, b], p) => [a, b, p])
    .filter(([a, b]) => a === b)
    .map(([, , p]) => `g[${p}].x`)
    .reduce((x, y) => `max(${x}, ${y})`)}, 0.0);
${SCALE}
${ps
  .map(([a, b], p) => {
    const cells = a === b ? [a * k + b] : [a * k + b, b * k + a]
    return cells.map((i) => `  Y[${i}u] = (g[${p}].x * inv) * inv;\n  Y[${k * k + i}u] = (g[${p}].y * inv) * inv;`).join('\n')
  })
  .join('\n')}
${Array.from({ length: k }, (_, j) => `  Y[${2 * k * k + j}u] = ldexp(1.0, e);`).join('\n')}
}
`
  return {
    partial: { source: partial, groups: [groups, 1, 1] },
    finish: { source: finish, groups: [1, 1, 1] },
    partials: groups * ps.length * 2,
  }
}

/**
 * `eigh` of a 2 × 2 (or 1 × 1) double-float matrix hi + lo, output as the host kernel's (eighPackedHost): one
 * Jacobi rotation (angle from the double-float difference, rounded to f32), eigenvalues as double-float
 * Rayleigh quotients of the rotated f32 vectors (error ~δφ²·λ₁ ≈ 1e-14·λ₁, the float64 kernel's scale), |λ| ≤
 * floor²·max|λ| reported as 0, values descending, each vector's largest component positive.
 */
export const eigh2Plan = (k: 1 | 2, floor: number): FlatPlan => ({
  groups: [1, 1, 1],
  source:
    k === 1
      ? `
@group(0) @binding(0) var<storage, read> H: array<f32>;
@group(0) @binding(1) var<storage, read> L: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(1, 1, 1)
fn main() {
  Y[0] = H[0] + L[0];
  Y[1] = 1.0;
}
`
      : `${DF}
@group(0) @binding(0) var<storage, read> H: array<f32>;
@group(0) @binding(1) var<storage, read> L: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
fn rayleigh(c: f32, s: f32, a: vec2<f32>, b: vec2<f32>, d: vec2<f32>) -> vec2<f32> {
  // (c, s) [a b; b d] (c, s)ᵀ / (c² + s²), with c², cs, s² exact
  let cc = twoProd(c, c);
  let cs = twoProd(c, s);
  let ss = twoProd(s, s);
  let num = dfAdd(dfAdd(dfMul(cc, a), dfMul(ss, d)), dfMul(vec2<f32>(2.0 * cs.x, 2.0 * cs.y), b));
  return dfDiv(num, dfAdd(cc, ss));
}
@compute @workgroup_size(1, 1, 1)
fn main(@builtin(num_workgroups) nwg: vec3<u32>) {
  never = nwg.x == 0u;
  let a = norm(H[0], L[0]);
  let b = norm(0.5 * (H[1] + H[2]), 0.5 * (L[1] + L[2]));
  let d = norm(H[3], L[3]);
  // the rotation (c, s) that zeroes b: t = tan φ from θ = (d − a) / 2b, as the host's Jacobi sweep
  var c = 1.0;
  var s = 0.0;
  if (b.x != 0.0) {
    let diff = dfAdd(d, -a);
    let theta = (diff.x + diff.y) / (2.0 * (b.x + b.y));
    var t = 0.0;
    if (abs(theta) > 1e18) { t = 0.5 / theta; } else {
      t = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
    }
    c = 1.0 / sqrt(t * t + 1.0);
    s = t * c;
  }
  // eigenvectors (c, −s) and (s, c): their Rayleigh quotients
  let l0 = rayleigh(c, -s, a, b, d);
  let l1 = rayleigh(s, c, a, b, d);
  var lam = array<f32, 2>(l0.x + l0.y, l1.x + l1.y);
  var v = array<vec2<f32>, 2>(vec2<f32>(c, -s), vec2<f32>(s, c));
  if (lam[1] > lam[0]) {
    lam = array<f32, 2>(lam[1], lam[0]);
    v = array<vec2<f32>, 2>(v[1], v[0]);
  }
  let top = max(abs(lam[0]), abs(lam[1]));
  for (var j = 0u; j < 2u; j++) {
    Y[j] = select(lam[j], 0.0, abs(lam[j]) <= ${floor * floor} * top);
    let big = select(v[j].x, v[j].y, abs(v[j].y) > abs(v[j].x));
    let sg = select(1.0, -1.0, big < 0.0);
    Y[2u + j] = sg * v[j].x;
    Y[4u + j] = sg * v[j].y;
  }
}
`,
})
