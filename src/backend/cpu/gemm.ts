/**
 * A small float32 GEMM for the conv kernels: B packed into 4-column panels, 4×4 register tiles whose
 * accumulators are JS numbers (float64), and generic strides on A so one routine serves A and Aᵀ.
 */
type F = Float32Array

/** Packs B (element (k, j) at `B[off + k*sk + j*sj]`, K×N) into zero-padded 4-column panels `P[(jp*K + k)*4 + jj]`. */
export const packB = (B: F, off: number, K: number, N: number, sk: number, sj: number, P?: F): F => {
  const np = Math.ceil(N / 4)
  const out = P && P.length >= np * K * 4 ? P : new Float32Array(np * K * 4)
  for (let jp = 0; jp < np; jp++)
    for (let jj = 0; jj < 4; jj++) {
      const j = jp * 4 + jj
      let o = jp * K * 4 + jj
      if (j >= N) {
        for (let k = 0; k < K; k++, o += 4) out[o] = 0
        continue
      }
      let b = off + j * sj
      for (let k = 0; k < K; k++, o += 4, b += sk) out[o] = B[b]
    }
  return out
}

/** Writes (or adds) one row of a tile: `n` ≤ 4 valid columns. */
const put = (C: Float32Array | Float64Array, o: number, n: number, add: boolean, v0: number, v1: number, v2: number, v3: number): void => {
  if (add) {
    C[o] += v0
    if (n > 1) C[o + 1] += v1
    if (n > 2) C[o + 2] += v2
    if (n > 3) C[o + 3] += v3
  } else {
    C[o] = v0
    if (n > 1) C[o + 1] = v1
    if (n > 2) C[o + 2] = v2
    if (n > 3) C[o + 3] = v3
  }
}

/**
 * `C[cOff + i*ldc + j] (+)= Σ_k A[aOff + i*si + k*sk] · B(k, j)` for i < M, j < N, with B packed by `packB`.
 * Rows past M read row i0 again (harmless, never stored), so there is no edge copy.
 */
export const gemm = (
  M: number,
  N: number,
  K: number,
  A: F,
  aOff: number,
  si: number,
  sk: number,
  P: F,
  C: Float32Array | Float64Array,
  cOff: number,
  ldc: number,
  add: boolean,
): void => {
  const np = Math.ceil(N / 4)
  for (let i0 = 0; i0 < M; i0 += 4) {
    const r1 = i0 + 1 < M ? si : 0
    const r2 = i0 + 2 < M ? 2 * si : 0
    const r3 = i0 + 3 < M ? 3 * si : 0
    const rows = Math.min(4, M - i0)
    for (let jp = 0; jp < np; jp++) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0
      let pa = aOff + i0 * si
      let pb = jp * K * 4
      for (let k = 0; k < K; k++) {
        const a0 = A[pa]
        const a1 = A[pa + r1]
        const a2 = A[pa + r2]
        const a3 = A[pa + r3]
        const b0 = P[pb]
        const b1 = P[pb + 1]
        const b2 = P[pb + 2]
        const b3 = P[pb + 3]
        c00 += a0 * b0
        c01 += a0 * b1
        c02 += a0 * b2
        c03 += a0 * b3
        c10 += a1 * b0
        c11 += a1 * b1
        c12 += a1 * b2
        c13 += a1 * b3
        c20 += a2 * b0
        c21 += a2 * b1
        c22 += a2 * b2
        c23 += a2 * b3
        c30 += a3 * b0
        c31 += a3 * b1
        c32 += a3 * b2
        c33 += a3 * b3
        pa += sk
        pb += 4
      }
      const n = Math.min(4, N - jp * 4)
      const o = cOff + i0 * ldc + jp * 4
      put(C, o, n, add, c00, c01, c02, c03)
      if (rows > 1) put(C, o + ldc, n, add, c10, c11, c12, c13)
      if (rows > 2) put(C, o + 2 * ldc, n, add, c20, c21, c22, c23)
      if (rows > 3) put(C, o + 3 * ldc, n, add, c30, c31, c32, c33)
    }
  }
}
