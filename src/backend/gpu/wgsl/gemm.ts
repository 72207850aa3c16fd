/**
 * Hand-written WGSL for the GEMM-class primitives (matmul, conv2d and its two gradients). They exist because
 * gpu.js can only express one output cell per thread with no workgroup memory: every product then re-reads
 * both operands from global memory, which caps a per-cell kernel at a few percent of the device (measured on
 * an H200: 0.34 TFLOP/s per-cell vs 22.5 TFLOP/s tiled). This kernel is the classic tiled form: a workgroup
 * stages a 64×16 panel of A and a 16×64 panel of B in workgroup memory, and each of its 128 threads keeps an
 * 8×4 block of C in registers, so every value loaded from global memory feeds 32 (A) or 64 (B) products.
 *
 * One template serves all four ops as an implicit GEMM C[b][m][n] = Σ_k A(b,m,k)·B(b,k,n): each op supplies
 * WGSL loaders `loadA`/`loadB` that return 4 consecutive values of an operand (along the axis that is
 * contiguous in memory, as one vec4 load when it is aligned), computing conv windows on the fly instead of
 * materialising an im2col matrix. Long reductions with few output tiles (filter gradients, Gram matrices of
 * the trace norms) split K over workgroups and add the partial tiles in a second pass.
 */

/** Tile sizes: BM × BN outputs per workgroup, BK reduction steps per panel. */
export const BM = 64
export const BN = 64
export const BK = 16
/** 16 × 8 = 128 invocations: the WebGPU limit in compatibility mode (software adapters), so one kernel runs everywhere. */
const WG_X = 16
const WG_Y = 8
/** Workgroups a dispatch aims for before it splits K (enough to fill a large GPU). */
const TARGET_GROUPS = 1024
/** Most workgroups per dispatch dimension (WebGPU's default limit). */
export const MAX_GROUPS = 65535

/** Which axis the 4 values of one operand load run along (the contiguous one). */
export type AlongA = 'k' | 'm'
export type AlongB = 'k' | 'n'

/** One implicit GEMM: sizes, operand loaders and how its output is laid out. */
export interface GemmSpec {
  readonly m: number
  readonly n: number
  readonly k: number
  /** Independent GEMMs (batched matmul); the loaders receive the batch index as `b`. */
  readonly batch: number
  readonly alongA: AlongA
  readonly alongB: AlongB
  /** Whether A / B are bound as array<vec4<f32>> (their loaders read one aligned vec4). */
  readonly vecA: boolean
  readonly vecB: boolean
  /** WGSL defining `fn loadA(b: u32, m: u32, k: u32) -> vec4<f32>` and `fn loadB(b: u32, k: u32, n: u32) -> vec4<f32>`. */
  readonly loaders: string
}

/** A GEMM's dispatch: the shader text, its grid and, with split K, the combine pass. */
export interface GemmPlan {
  readonly source: string
  readonly groups: readonly [number, number, number]
  /** K chunks (1: the kernel writes C directly; more: partial tiles [splits][batch·m·n] summed by `combine`). */
  readonly splits: number
  readonly combine?: FlatPlan
}

/** A one-thread-per-element pass over `size` elements (64-wide workgroups, folded into 2-D past the group limit). */
export interface FlatPlan {
  readonly source: string
  readonly groups: readonly [number, number, number]
}

const u = (v: number): string => `${v >>> 0}u`

/** Splits of K so that output tiles × splits approach TARGET_GROUPS, each chunk a whole number of panels. */
const splitK = (tiles: number, k: number, batch: number): { splits: number; chunk: number } => {
  const full = { splits: 1, chunk: Math.ceil(k / BK) * BK }
  if (tiles >= TARGET_GROUPS / 4 || k < 8 * BK) return full
  const want = Math.min(Math.ceil(TARGET_GROUPS / tiles), Math.ceil(k / (4 * BK)), Math.floor(MAX_GROUPS / batch))
  if (want <= 1) return full
  const chunk = Math.ceil(k / want / BK) * BK
  return { splits: Math.ceil(k / chunk), chunk }
}

/** Largest number of f32 elements a u32 index of this kernel may reach. */
const MAX_INDEX = 2 ** 32

/** The tiled kernel for `spec` (throws, naming the sizes, when its grid or indices do not fit). */
export const gemmPlan = (spec: GemmSpec): GemmPlan => {
  const { m, n, k, batch } = spec
  const gx = Math.ceil(n / BN)
  const gy = Math.ceil(m / BM)
  const { splits, chunk } = splitK(gx * gy * batch, k, batch)
  if (gx > MAX_GROUPS || gy > MAX_GROUPS || batch * splits > MAX_GROUPS)
    throw new Error(`tiled GEMM: grid ${gx}×${gy}×${batch * splits} (m=${m}, n=${n}, batch=${batch}) exceeds ${MAX_GROUPS} workgroups`)
  if (splits * batch * m * n >= MAX_INDEX) throw new Error(`tiled GEMM: output ${splits}×${batch}×${m}×${n} exceeds 2^32 elements`)
  const loadsA =
    spec.alongA === 'k'
      ? [
          'let kq = l % 4u;',
          'let mm = l / 4u;',
          'let va = loadA(b, m0 + mm, k0 + 4u * kq);',
          'let ai = 4u * kq * 16u + mm / 4u;',
          'As[ai][mm % 4u] = va.x;',
          'As[ai + 16u][mm % 4u] = va.y;',
          'As[ai + 32u][mm % 4u] = va.z;',
          'As[ai + 48u][mm % 4u] = va.w;',
        ]
      : ['let mq = l % 16u;', 'let kk = l / 16u;', 'As[kk * 16u + mq] = loadA(b, m0 + 4u * mq, k0 + kk);']
  const loadsB =
    spec.alongB === 'n'
      ? ['let nq = l % 16u;', 'let kb = l / 16u;', 'Bs[kb * 16u + nq] = loadB(b, k0 + kb, n0 + 4u * nq);']
      : [
          'let kq2 = l % 4u;',
          'let nn = l / 4u;',
          'let vb = loadB(b, k0 + 4u * kq2, n0 + nn);',
          'let bi = 4u * kq2 * 16u + nn / 4u;',
          'Bs[bi][nn % 4u] = vb.x;',
          'Bs[bi + 16u][nn % 4u] = vb.y;',
          'Bs[bi + 32u][nn % 4u] = vb.z;',
          'Bs[bi + 48u][nn % 4u] = vb.w;',
        ]
  const fma = Array.from({ length: 8 }, (_, i) => `acc[${i}] = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), bv, acc[${i}]);`)
  const stores = Array.from({ length: 4 }, (_, j) => `if (col + ${u(j)} < N) { C[base + ${u(j)}] = acc[i].${'xyzw'[j]}; }`)
  const source = `
const M = ${u(m)};
const N = ${u(n)};
const K = ${u(k)};
const BATCH = ${u(batch)};
const CHUNK = ${u(chunk)};
@group(0) @binding(0) var<storage, read> A: array<${spec.vecA ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(1) var<storage, read> B: array<${spec.vecB ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
// panels: As[kk][m/4] (64 rows of A per k step), Bs[kk][n/4]
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
${spec.loaders}
@compute @workgroup_size(${WG_X}, ${WG_Y}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let n0 = wg.x * ${u(BN)};
  let m0 = wg.y * ${u(BM)};
  let b = wg.z % BATCH;
  let s = wg.z / BATCH;
  let kBegin = s * CHUNK;
  let kEnd = min(K, kBegin + CHUNK);
  var acc: array<vec4<f32>, 8>;
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${u(BK)}) {
    for (var r = 0u; r < 2u; r = r + 1u) {
      let l = t + r * 128u;
      ${loadsA.join('\n      ')}
      ${loadsB.join('\n      ')}
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(BK)}; kk = kk + 1u) {
      let a0 = As[kk * 16u + lid.y * 2u];
      let a1 = As[kk * 16u + lid.y * 2u + 1u];
      let bv = Bs[kk * 16u + lid.x];
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  let col = n0 + lid.x * 4u;
  for (var i = 0u; i < 8u; i = i + 1u) {
    let row = m0 + lid.y * 8u + i;
    if (row < M) {
      let base = ((s * BATCH + b) * M + row) * N + col;
      ${stores.join('\n      ')}
    }
  }
}
`
  const size = batch * m * n
  const combine = splits > 1 ? sumPlan(size, splits) : undefined
  return { source, groups: [gx, gy, batch * splits], splits, ...(combine ? { combine } : {}) }
}

/** Grid of a flat pass over `size` elements, 64 per workgroup. */
export const flatGroups = (size: number): [number, number, number] => {
  const groups = Math.ceil(size / 64)
  const y = Math.ceil(groups / MAX_GROUPS)
  return [Math.ceil(groups / y), y, 1]
}

/** The split-K combine: C[i] = Σ_s P[s·size + i]. */
const sumPlan = (size: number, splits: number): FlatPlan => ({
  groups: flatGroups(size),
  source: `
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.y * nw.x * 64u + gid.x;
  if (i >= ${u(size)}) { return; }
  var s = 0.0;
  for (var j = 0u; j < ${u(splits)}; j = j + 1u) { s = s + P[j * ${u(size)} + i]; }
  C[i] = s;
}
`,
})
