/** Benchmark shapes: matmul sizes and conv layers (NHWC, 'same' padding, batch 8). */
export interface ConvShape {
  readonly name: string
  readonly N: number
  readonly H: number
  readonly C: number
  readonly k: number
  readonly s: number
  readonly co: number
}

export const matmulSizes = [256, 512, 1024] as const

/** The two issue shapes, then the distinct ResNet-18/34 layer shapes at 96×96 input (34 repeats the same shapes). */
export const convShapes: readonly ConvShape[] = [
  { name: '3×3 N8 24² 64→64 (r18/34 layer1)', N: 8, H: 24, C: 64, k: 3, s: 1, co: 64 },
  { name: '3×3 N8 48² 32→32', N: 8, H: 48, C: 32, k: 3, s: 1, co: 32 },
  { name: '7×7/2 N8 96² 3→64 (stem)', N: 8, H: 96, C: 3, k: 7, s: 2, co: 64 },
  { name: '3×3/2 N8 24² 64→128 (layer2 in)', N: 8, H: 24, C: 64, k: 3, s: 2, co: 128 },
  { name: '1×1/2 N8 24² 64→128 (layer2 skip)', N: 8, H: 24, C: 64, k: 1, s: 2, co: 128 },
  { name: '3×3 N8 12² 128→128 (layer2)', N: 8, H: 12, C: 128, k: 3, s: 1, co: 128 },
  { name: '3×3/2 N8 12² 128→256 (layer3 in)', N: 8, H: 12, C: 128, k: 3, s: 2, co: 256 },
  { name: '3×3 N8 6² 256→256 (layer3)', N: 8, H: 6, C: 256, k: 3, s: 1, co: 256 },
  { name: '3×3/2 N8 6² 256→512 (layer4 in)', N: 8, H: 6, C: 256, k: 3, s: 2, co: 512 },
  { name: '3×3 N8 3² 512→512 (layer4)', N: 8, H: 3, C: 512, k: 3, s: 1, co: 512 },
]

/** TF 'same' geometry of a conv shape (as the conv ops resolve it). */
export const geometry = ({ N, H, C, k, s, co }: ConvShape) => {
  const OH = Math.ceil(H / s)
  const t = Math.max((OH - 1) * s + k - H, 0)
  const pads = [t >> 1, t - (t >> 1), t >> 1, t - (t >> 1)]
  return { x: [N, H, H, C], w: [k, k, C, co], y: [N, OH, OH, co], strides: [s, s], pads, flops: 2 * N * OH * OH * k * k * C * co }
}
export type Geometry = ReturnType<typeof geometry>
