/** Test files built byte by byte from their specs, shared by the safetensors and package tests. */

/** A safetensors file from the spec's byte layout alone: u64 LE header length, JSON header, raw little-endian data. */
export const handMadeSafetensors = (): Buffer => {
  const header =
    '{"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"c":{"dtype":"I64","shape":[1,1],"data_offsets":[10,18]},"__metadata__":{"source":"by hand"}}'
  const h = Buffer.from(header, 'utf8')
  const bytes = [...[h.length, 0, 0, 0, 0, 0, 0, 0], ...h]
  bytes.push(0x00, 0x00, 0xc0, 0x3f) // 1.5 as float32 LE
  bytes.push(0x00, 0x00, 0x00, 0xc0) // -2
  bytes.push(0x00, 0x3c) // 1.0 as float16 LE
  bytes.push(0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // -5 as int64 LE
  return Buffer.from(bytes)
}
