/** Interleaved timing: contenders take turns (A B C A B C …) so a change in machine load hits all of them alike. */

/** One contender's call; resolves to its wall seconds (measured by the caller or, for PyTorch, inside Python). */
export type Timed = () => Promise<number>

/** Times a synchronous or async function from Node (wall seconds). */
export const wall =
  (f: () => unknown): Timed =>
  async () => {
    const t = performance.now()
    await f()
    return (performance.now() - t) / 1000
  }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * Median seconds per call of each contender (undefined entries: not run → NaN). One untimed warm-up call
 * each, then up to `rounds` rounds; a contender slower than `slow` seconds per call stops after one timed call
 * (plain JS at 1024³ would otherwise take minutes). Also returns every sample.
 */
export const interleave = async (
  fs: readonly (Timed | undefined)[],
  rounds = 5,
  slow = 1.5,
): Promise<{ medians: number[]; samples: number[][] }> => {
  const samples: number[][] = fs.map(() => [])
  const warm: number[] = []
  for (const f of fs) warm.push(f ? await f() : Number.NaN)
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]
      if (!f || (samples[i].length > 0 && (warm[i] > slow || samples[i][0] > slow))) continue
      samples[i].push(await f())
    }
  return { medians: samples.map(median), samples }
}
