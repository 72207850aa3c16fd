// Elementwise chains and reductions for ./kernels.ts (f32x4 SIMD).
//
// `ew` runs a small program over elements [e0, e1) in blocks of B: every step of a fused chain is one SIMD
// loop over a block-sized register (a vectorised interpreter: one dispatch per step and block, not per
// element). Program (i32 words): nIn, nSteps, then per input kind, ptr, period, 0 (kind 0: full, read at i;
// 1: scalar at ptr; 2: a block of `period` floats repeating, read at i mod period), then per step
// op, a, b, c (operand j < nIn: input j; else step j − nIn). The last step is the result.

const B: i32 = 256
const BB: usize = <usize>B * 4

/** Bytes of register space `ew` needs for a program with nIn inputs and nSteps steps. */
export function ewRegBytes(nIn: i32, nSteps: i32): i32 {
  return (nIn + nSteps) * B * 4
}

@inline
function opv(op: i32, a: v128, b: v128, c: v128): v128 {
  const zero = f32x4.splat(0)
  const one = f32x4.splat(1)
  switch (op) {
    case 1: return f32x4.add(a, b)
    case 2: return f32x4.sub(a, b)
    case 3: return f32x4.mul(a, b)
    case 4: return f32x4.div(a, b)
    case 5: return f32x4.neg(a)
    case 6: return f32x4.max(a, zero)
    case 7: return f32x4.sqrt(a)
    case 8: return f32x4.mul(a, a)
    case 9: return f32x4.div(one, a)
    case 10: return f32x4.max(a, b)
    case 11: return f32x4.min(a, b)
    case 12: return f32x4.abs(a)
    case 13: return v128.and(f32x4.lt(a, b), one)
    case 14: return v128.and(f32x4.le(a, b), one)
    case 15: return v128.and(f32x4.gt(a, b), one)
    case 16: return v128.and(f32x4.ge(a, b), one)
    case 17: return v128.and(f32x4.eq(a, b), one)
    case 18: return v128.and(f32x4.ne(a, b), one)
    case 19: return v128.bitselect(b, c, f32x4.ne(a, zero))
    case 20: return v128.or(v128.and(f32x4.gt(a, zero), one), v128.and(f32x4.lt(a, zero), f32x4.splat(-1)))
    default: return a
  }
}

// one step over `len` floats (a multiple of 4): dst[i] = op(a[i], b[i], c[i])
function stepLoop(op: i32, dst: usize, a: usize, b: usize, c: usize, len: i32): void {
  const nb = <usize>len * 4
  // one loop per op: the switch is hoisted out of the element loop
  switch (op) {
    case 1: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(1, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 2: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(2, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 3: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(3, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 4: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(4, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 5: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(5, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 6: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(6, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 7: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(7, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 8: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(8, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 9: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(9, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 10: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(10, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 11: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(11, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 12: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(12, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 13: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(13, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 14: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(14, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 15: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(15, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 16: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(16, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 17: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(17, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 18: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(18, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    case 19: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(19, v128.load(a + o), v128.load(b + o), v128.load(c + o))); return
    default: for (let o: usize = 0; o < nb; o += 16) v128.store(dst + o, opv(20, v128.load(a + o), v128.load(b + o), v128.load(c + o)))
  }
}

// copies the floats of x at indices (i .. i + len) mod m into dst
function gatherPeriodic(dst: usize, x: usize, m: i32, i: i32, len: i32): void {
  let j = i % m
  let d = dst
  let left = len
  while (left > 0) {
    const run = min(left, m - j)
    memory.copy(d, x + <usize>j * 4, <usize>run * 4)
    d += <usize>run * 4
    left -= run
    j = 0
  }
}

/** Runs the program at `prog` for elements [e0, e1), writing out[e0..e1); `regs`: ewRegBytes of scratch. */
export function ew(prog: usize, out: usize, e0: i32, e1: i32, regs: usize): void {
  const nIn = load<i32>(prog)
  const nSteps = load<i32>(prog + 4)
  const ins = prog + 8
  const steps = ins + <usize>nIn * 16
  // scalars: splat once into their register
  for (let j = 0; j < nIn; j++) {
    if (load<i32>(ins + <usize>j * 16) != 1) continue
    const v = f32x4.splat(load<f32>(<usize>load<i32>(ins + <usize>j * 16 + 4)))
    const r = regs + <usize>j * BB
    for (let o: usize = 0; o < BB; o += 16) v128.store(r + o, v)
  }
  // operand addresses of this block, kept in the last register slot's words (nIn + nSteps ≤ B)
  for (let i = e0; i < e1; i += B) {
    const len = min(B, e1 - i)
    const full = (len & 3) == 0
    const len4 = (len + 3) & ~3
    for (let j = 0; j < nIn; j++) {
      const d = ins + <usize>j * 16
      const kind = load<i32>(d)
      const x = <usize>load<i32>(d + 4)
      const r = regs + <usize>j * BB
      if (kind == 0 && !full) memory.copy(r, x + <usize>i * 4, <usize>len * 4)
      else if (kind == 2) gatherPeriodic(r, x, load<i32>(d + 8), i, len)
    }
    for (let k = 0; k < nSteps; k++) {
      const s = steps + <usize>k * 16
      const op = load<i32>(s)
      const last = k == nSteps - 1
      const dst = last && full ? out + <usize>i * 4 : regs + <usize>(nIn + k) * BB
      stepLoop(op, dst, addr(ins, nIn, regs, load<i32>(s + 4), i, full), addr(ins, nIn, regs, load<i32>(s + 8), i, full), addr(ins, nIn, regs, load<i32>(s + 12), i, full), len4)
      if (last && !full) memory.copy(out + <usize>i * 4, dst, <usize>len * 4)
    }
  }
}

// address of operand j for the block at element i
@inline
function addr(ins: usize, nIn: i32, regs: usize, j: i32, i: i32, full: bool): usize {
  if (j >= nIn) return regs + <usize>j * BB
  const d = ins + <usize>j * 16
  if (load<i32>(d) == 0 && full) return <usize>load<i32>(d + 4) + <usize>i * 4
  return regs + <usize>j * BB
}

/**
 * Partial sums over rows [r0, r1) of x viewed as [rows, inner] into part[inner] as float64, row by row
 * (sequential reads; the accumulator row stays in L1): callers cut rows at fixed boundaries and add the
 * partials in order, so results do not depend on the thread count.
 */
export function sumRows(x: usize, inner: i32, r0: i32, r1: i32, part: usize): void {
  memory.fill(part, 0, <usize>inner * 8)
  if (inner == 1) {
    // one long row: two f64x2 accumulators over the contiguous run
    let a0 = f64x2.splat(0)
    let a1 = f64x2.splat(0)
    let p = x + <usize>r0 * 4
    let r = r0
    for (; r + 4 <= r1; r += 4, p += 16) {
      const v = v128.load(p)
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v))
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)))
    }
    let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1))
    for (; r < r1; r++, p += 4) s += <f64>load<f32>(p)
    store<f64>(part, s)
    return
  }
  const c4 = inner & ~3
  for (let r = r0; r < r1; r++) {
    const row = x + <usize>r * <usize>inner * 4
    for (let c = 0; c < c4; c += 4) {
      const v = v128.load(row + <usize>c * 4)
      const q = part + <usize>c * 8
      v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)))
      v128.store(q + 16, f64x2.add(v128.load(q + 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))))
    }
    for (let c = c4; c < inner; c++) {
      const q = part + <usize>c * 8
      store<f64>(q, load<f64>(q) + <f64>load<f32>(row + <usize>c * 4))
    }
  }
}

/** out[e] = f32(Σ_{p < n} parts[p][e]) for e in [e0, e1) (float64 partials, added in order p = 0, 1, …). */
export function sumPartsF64(parts: usize, n: i32, inner: i32, out: usize, e0: i32, e1: i32): void {
  for (let e = e0; e < e1; e++) {
    let s: f64 = 0
    for (let p = 0; p < n; p++) s += load<f64>(parts + (<usize>p * <usize>inner + <usize>e) * 8)
    store<f32>(out + <usize>e * 4, <f32>s)
  }
}
