/** Symmetric eigen-solvers in float64 on the host (row-major arrays): cyclic Jacobi and tridiagonal QL. */

/**
 * Eigen-decomposition of a symmetric n × n matrix by cyclic Jacobi rotations (robust and accurate for
 * the few-hundred sizes used here). Values sorted descending; `vectors` is n × n with eigenvectors as columns.
 */
export const jacobiEigh = (a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } => {
  const A = new Float64Array(n * n)
  // symmetrise: callers pass Gram matrices that are symmetric only up to rounding
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i])
  const V = new Float64Array(n * n)
  for (let i = 0; i < n; i++) V[i * n + i] = 1
  let frob = 0
  for (let i = 0; i < n * n; i++) frob += A[i] * A[i]
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q]
    if (off <= 1e-30 * frob || off === 0) break
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]
        if (apq === 0) continue
        const app = A[p * n + p]
        const aqq = A[q * n + q]
        const theta = (aqq - app) / (2 * apq)
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]
          const akq = A[k * n + q]
          A[k * n + p] = c * akp - s * akq
          A[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]
          const aqk = A[q * n + k]
          A[p * n + k] = c * apk - s * aqk
          A[q * n + k] = s * apk + c * aqk
        }
        A[p * n + q] = 0
        A[q * n + p] = 0
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]
          const vkq = V[k * n + q]
          V[k * n + p] = c * vkp - s * vkq
          V[k * n + q] = s * vkp + c * vkq
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j] - A[i * n + i])
  const values = Float64Array.from(order, (i) => A[i * n + i])
  const vectors = new Float64Array(n * n)
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vectors[r * n + c] = V[r * n + order[c]]
  return { values, vectors }
}

/**
 * Symmetric eigen-decomposition by Householder tridiagonalisation and implicit QL (tred2/tql2, after
 * JAMA / EISPACK): ~9n³ flops against Jacobi's ~25n³, for the k × k Gram matrices of wide unfoldings.
 * Same output convention as jacobiEigh.
 */
export const tridiagEigh = (a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } => {
  const V = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) V[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i])
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  // tred2 (EISPACK) written on the transpose: V here holds Vᵀ of the textbook version, so its inner
  // loops run along rows; at the end V's rows are the accumulated orthogonal transform's columns
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1]
  for (let i = n - 1; i > 0; i--) {
    let scale = 0
    let h = 0
    for (let k = 0; k < i; k++) scale += Math.abs(d[k])
    if (scale === 0) {
      e[i] = d[i - 1]
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1]
        V[j * n + i] = 0
        V[i * n + j] = 0
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale
        h += d[k] * d[k]
      }
      let f = d[i - 1]
      let g = Math.sqrt(h)
      if (f > 0) g = -g
      e[i] = scale * g
      h -= f * g
      d[i - 1] = f - g
      for (let j = 0; j < i; j++) e[j] = 0
      for (let j = 0; j < i; j++) {
        f = d[j]
        V[i * n + j] = f
        g = e[j] + V[j * n + j] * f
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[j * n + k] * d[k]
          e[k] += V[j * n + k] * f
        }
        e[j] = g
      }
      f = 0
      for (let j = 0; j < i; j++) {
        e[j] /= h
        f += e[j] * d[j]
      }
      const hh = f / (h + h)
      for (let j = 0; j < i; j++) e[j] -= hh * d[j]
      for (let j = 0; j < i; j++) {
        f = d[j]
        g = e[j]
        for (let k = j; k <= i - 1; k++) V[j * n + k] -= f * e[k] + g * d[k]
        d[j] = V[j * n + i - 1]
        V[j * n + i] = 0
      }
    }
    d[i] = h
  }
  for (let i = 0; i < n - 1; i++) {
    V[i * n + n - 1] = V[i * n + i]
    V[i * n + i] = 1
    const h = d[i + 1]
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[(i + 1) * n + k] / h
      for (let j = 0; j <= i; j++) {
        let g = 0
        for (let k = 0; k <= i; k++) g += V[(i + 1) * n + k] * V[j * n + k]
        for (let k = 0; k <= i; k++) V[j * n + k] -= g * d[k]
      }
    }
    for (let k = 0; k <= i; k++) V[(i + 1) * n + k] = 0
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + n - 1]
    V[j * n + n - 1] = 0
  }
  V[(n - 1) * n + n - 1] = 1
  e[0] = 0
  // tql2 on W = Vᵀ (eigenvectors as rows), so each rotation streams through two contiguous rows
  const W = V
  for (let i = 1; i < n; i++) e[i - 1] = e[i]
  e[n - 1] = 0
  let f = 0
  let tst1 = 0
  const eps = 2 ** -52
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]))
    let m = l
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break
      m++
    }
    if (m > l) {
      for (let iter = 0; iter < 100; iter++) {
        let g = d[l]
        let p = (d[l + 1] - g) / (2 * e[l])
        let r = Math.hypot(p, 1)
        if (p < 0) r = -r
        d[l] = e[l] / (p + r)
        d[l + 1] = e[l] * (p + r)
        const dl1 = d[l + 1]
        let h = g - d[l]
        for (let i = l + 2; i < n; i++) d[i] -= h
        f += h
        p = d[m]
        let c = 1
        let c2 = c
        let c3 = c
        const el1 = e[l + 1]
        let s = 0
        let s2 = 0
        for (let i = m - 1; i >= l; i--) {
          c3 = c2
          c2 = c
          s2 = s
          g = c * e[i]
          h = c * p
          r = Math.hypot(p, e[i])
          e[i + 1] = s * r
          s = e[i] / r
          c = p / r
          p = c * d[i] - s * g
          d[i + 1] = h + s * (c * g + s * d[i])
          const ri = i * n
          const ri1 = (i + 1) * n
          for (let k = 0; k < n; k++) {
            const t = W[ri1 + k]
            W[ri1 + k] = s * W[ri + k] + c * t
            W[ri + k] = c * W[ri + k] - s * t
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1
        e[l] = s * p
        d[l] = c * p
        if (!(Math.abs(e[l]) > eps * tst1)) break
      }
    }
    d[l] += f
    e[l] = 0
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i])
  const values = Float64Array.from(order, (i) => d[i])
  const vectors = new Float64Array(n * n)
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vectors[r * n + c] = W[order[c] * n + r]
  return { values, vectors }
}

/** Symmetric eigen-decomposition: Jacobi for small k (most accurate), tridiagonal QL beyond (fast). */
export const symEigh = (a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } =>
  n <= 32 ? jacobiEigh(a, n) : tridiagEigh(a, n)
