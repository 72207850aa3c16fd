/**
 * Small dense factorizations in float64 on the host (row-major arrays): Householder QR, one-sided Jacobi
 * SVD, and spectral functions of PSD matrices (eigen-solvers in eigh.ts). They back the
 * `qr` / `eigh` kernels of the host backends (backend/host/linalg-kernels.ts) and the host-side `softshare` linalg API; the heavy
 * products around them (Gram matrices, sketches) run as ordinary `matmul` kernels.
 */
import { symEigh } from './eigh.ts'

/** Thin Householder QR of an m × n matrix (m ≥ n): Q is m × n with orthonormal columns, R is n × n upper triangular. */
export const qrHouseholder = (a: ArrayLike<number>, m: number, n: number): { q: Float64Array; r: Float64Array } => {
  if (m < n) throw new Error(`qr: needs rows ≥ columns, got ${m} × ${n}`)
  const w = Float64Array.from(a)
  const vs: Float64Array[] = []
  const vn2: number[] = []
  for (let j = 0; j < n; j++) {
    let norm = 0
    for (let i = j; i < m; i++) norm += w[i * n + j] * w[i * n + j]
    norm = Math.sqrt(norm)
    const v = new Float64Array(m)
    // reflect onto −sign(x0)·‖x‖ e0 so that v never cancels
    const alpha = w[j * n + j] >= 0 ? -norm : norm
    for (let i = j; i < m; i++) v[i] = w[i * n + j]
    v[j] -= alpha
    let s2 = 0
    for (let i = j; i < m; i++) s2 += v[i] * v[i]
    vs.push(v)
    vn2.push(s2)
    if (s2 === 0) continue // zero column: H = I (Q stays orthonormal, R gets a zero on the diagonal)
    for (let c = j; c < n; c++) {
      let s = 0
      for (let i = j; i < m; i++) s += v[i] * w[i * n + c]
      const f = (2 * s) / s2
      for (let i = j; i < m; i++) w[i * n + c] -= f * v[i]
    }
  }
  const r = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let c = i; c < n; c++) r[i * n + c] = w[i * n + c]
  // Q = H0 H1 … H(n−1) [I; 0], applied right to left
  const q = new Float64Array(m * n)
  for (let i = 0; i < n; i++) q[i * n + i] = 1
  for (let j = n - 1; j >= 0; j--) {
    const v = vs[j]
    if (vn2[j] === 0) continue
    for (let c = 0; c < n; c++) {
      let s = 0
      for (let i = j; i < m; i++) s += v[i] * q[i * n + c]
      const f = (2 * s) / vn2[j]
      for (let i = j; i < m; i++) q[i * n + c] -= f * v[i]
    }
  }
  return { q, r }
}

/**
 * Thin SVD of an m × n matrix by one-sided (Hestenes) Jacobi: A = U diag(s) Vᵀ with k = min(m, n),
 * U m × k, V n × k, s descending ≥ 0. Columns of U for zero singular values are left zero.
 */
export const svdJacobi = (a: ArrayLike<number>, m: number, n: number): { u: Float64Array; s: Float64Array; v: Float64Array; k: number } => {
  if (m < n) {
    const at = new Float64Array(m * n)
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j]
    const r = svdJacobi(at, n, m)
    return { u: r.v, s: r.s, v: r.u, k: r.k }
  }
  // columns stored contiguously (column-major) so rotations stream through memory
  const cols = Array.from({ length: n }, (_, j) => Float64Array.from({ length: m }, (_, i) => a[i * n + j]))
  const vc = Array.from({ length: n }, (_, j) => Float64Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)))
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const up = cols[p]
        const uq = cols[q]
        let alpha = 0
        let beta = 0
        let gamma = 0
        for (let i = 0; i < m; i++) {
          alpha += up[i] * up[i]
          beta += uq[i] * uq[i]
          gamma += up[i] * uq[i]
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue
        rotated = true
        const zeta = (beta - alpha) / (2 * gamma)
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta))
        const c = 1 / Math.sqrt(1 + t * t)
        const s = c * t
        for (let i = 0; i < m; i++) {
          const x = up[i]
          up[i] = c * x - s * uq[i]
          uq[i] = s * x + c * uq[i]
        }
        const vp = vc[p]
        const vq = vc[q]
        for (let i = 0; i < n; i++) {
          const x = vp[i]
          vp[i] = c * x - s * vq[i]
          vq[i] = s * x + c * vq[i]
        }
      }
    if (!rotated) break
  }
  const norms = cols.map((c) => Math.sqrt(c.reduce((acc, x) => acc + x * x, 0)))
  const order = norms.map((_, i) => i).sort((i, j) => norms[j] - norms[i])
  const k = n
  const s = Float64Array.from(order, (i) => norms[i])
  const u = new Float64Array(m * k)
  const v = new Float64Array(n * k)
  order.forEach((j, c) => {
    const inv = norms[j] > 0 ? 1 / norms[j] : 0
    for (let i = 0; i < m; i++) u[i * k + c] = cols[j][i] * inv
    for (let i = 0; i < n; i++) v[i * k + c] = vc[j][i]
  })
  return { u, s, v, k }
}

/**
 * Packed symmetric eigen-decomposition of ½(A + Aᵀ) (k × k) → (k + 1) × k: row 0 the eigenvalues
 * (descending), rows 1..k the eigenvectors as columns. Each vector is signed so its largest-|·| entry is
 * positive (a deterministic choice, locally constant, so finite differences and backends agree), and
 * eigenvalues with |λ| ≤ floor²·max|λ| are reported as 0: below that the input's precision cannot resolve them.
 */
export const eighPackedHost = (a: ArrayLike<number>, k: number, floor: number): Float64Array => {
  const { values, vectors } = symEigh(a, k)
  const out = new Float64Array((k + 1) * k)
  const top = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  for (let j = 0; j < k; j++) {
    out[j] = Math.abs(values[j]) <= floor * floor * top ? 0 : values[j]
    let big = 0
    for (let i = 1; i < k; i++) if (Math.abs(vectors[i * k + j]) > Math.abs(vectors[big * k + j])) big = i
    const s = vectors[big * k + j] < 0 ? -1 : 1
    for (let i = 0; i < k; i++) out[(i + 1) * k + j] = s * vectors[i * k + j]
  }
  return out
}

/**
 * Gram matrix of the K = n·c columns of [x_0 | … | x_{n−1}] (each a row-major D × c matrix), accumulated in
 * float64 and scaled by s, a power of two near the largest column norm, so neither s nor G/s² overflows or
 * underflows: packed (2K + 1) × K, rows 0..K−1 hi = round(G/s²), rows K..2K−1 lo = G/s² − hi (the part `round`
 * drops: float32 keeps 24 bits of each entry, hi + lo keeps ~48), row 2K = s. float32 inputs are accumulated
 * unscaled (their squares and sums cannot leave float64's range); float64 inputs are first divided by the power of
 * two above their largest |entry| (exact), since 1e160² overflows and 1e-170² underflows. `maxExp` bounds s in
 * the output type (127 for float32).
 */
export const gramHost = (
  xs: readonly ArrayLike<number>[],
  d: number,
  c: number,
  round: (v: number) => number,
  maxExp = 1023,
): Float64Array => {
  const { g, pre } = gramAccumulate(xs, d, c)
  return packGram(g, xs.length * c, pre, round, maxExp)
}

/**
 * The unscaled float64 Gram matrix (upper triangle of a row-major K × K array) of gramHost, and the power of two
 * `pre` its inputs were divided by (1 for float32 inputs). Each entry is summed over the rows in order.
 */
export const gramAccumulate = (xs: readonly ArrayLike<number>[], d: number, c: number): { g: Float64Array; pre: number } => {
  const n = xs.length
  const k = n * c
  let pre = 1
  if (!xs.every((x) => x instanceof Float32Array)) {
    let big = 0
    for (const x of xs) for (let i = 0; i < x.length; i++) big = Math.max(big, Math.abs(x[i]))
    if (big > 0 && Number.isFinite(big)) pre = 2 ** Math.ceil(Math.log2(big))
  }
  const g = new Float64Array(k * k)
  if (k === 2 && c === 1) {
    // LAF's two stacked task weights: three running sums in registers
    const [x, y] = xs
    let s00 = 0
    let s01 = 0
    let s11 = 0
    const inv = 1 / pre
    for (let i = 0; i < d; i++) {
      const a = x[i] * inv
      const b = y[i] * inv
      s00 += a * a
      s01 += a * b
      s11 += b * b
    }
    g[0] = s00
    g[1] = s01
    g[3] = s11
  } else {
    const row = new Float64Array(k)
    for (let i = 0; i < d; i++) {
      for (let t = 0; t < n; t++) for (let j = 0; j < c; j++) row[t * c + j] = xs[t][i * c + j] / pre
      for (let a = 0; a < k; a++) {
        const ra = row[a]
        if (ra === 0) continue
        for (let b = a; b < k; b++) g[a * k + b] += ra * row[b]
      }
    }
  }
  return { g, pre }
}

/**
 * gramHost's packed output from an accumulated Gram matrix g (upper triangle read, row stride `ld`, default K)
 * of inputs divided by `pre`: scale s, hi = round(g/s²), lo = g/s² − hi.
 */
export const packGram = (
  g: ArrayLike<number>,
  k: number,
  pre: number,
  round: (v: number) => number,
  maxExp = 1023,
  ld = k,
): Float64Array => {
  let top = 0
  for (let a = 0; a < k; a++) top = Math.max(top, g[a * ld + a])
  const e = top > 0 && Number.isFinite(top) ? Math.max(-maxExp + 1, Math.min(maxExp, Math.round(Math.log2(Math.sqrt(top))))) : 0
  const sc = 2 ** e
  const inv2 = 1 / (sc * sc)
  const out = new Float64Array((2 * k + 1) * k)
  for (let a = 0; a < k; a++)
    for (let b = a; b < k; b++) {
      const v = g[a * ld + b] * inv2
      const hi = round(v)
      out[a * k + b] = out[b * k + a] = hi
      out[(k + a) * k + b] = out[(k + b) * k + a] = v - hi
    }
  out.fill(sc * pre, 2 * k * k)
  return out
}

export { jacobiEigh, symEigh, tridiagEigh } from './eigh.ts'
