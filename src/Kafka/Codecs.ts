import { compress as zstdCompress, decompress as zstdDecompress } from "@mongodb-js/zstd"
import kafkajs from "kafkajs"
import snappyCodec from "kafkajs-snappy"
import { compressFrame as lz4Compress, decompressFrame as lz4Decompress } from "lz4-napi"

// kafkajs decodes gzip only; a batch in any other codec crashes its consumer at the same offset
// forever. Producers in Java and Go compress with snappy, lz4 or zstd, so every codec is
// registered before a consumer or producer is made:
// - snappy: kafkajs-snappy over snappyjs (pure JavaScript; reads the xerial framing Java writes)
// - lz4: lz4-napi (LZ4 frame format, which Kafka uses since message format v1; prebuilt binaries
//   in npm platform packages, nothing compiled or downloaded at install)
// - zstd: @mongodb-js/zstd 1.2 (prebuilt binaries in npm platform packages; its 7.x line downloads
//   them from GitHub at install time)

interface Encoder {
  readonly buffer: Buffer
}

const lz4 = () => ({
  compress: (encoder: Encoder) => lz4Compress(encoder.buffer),
  decompress: (buffer: Buffer) => lz4Decompress(buffer),
})

const zstd = () => ({
  compress: (encoder: Encoder) => zstdCompress(encoder.buffer, 3),
  decompress: (buffer: Buffer) => zstdDecompress(buffer),
})

// named ESM imports of these two fail: Node's CommonJS export detection does not see them in kafkajs
const { CompressionCodecs, CompressionTypes } = kafkajs
const codecs = CompressionCodecs as Record<number, () => unknown>
codecs[CompressionTypes.Snappy] = snappyCodec
codecs[CompressionTypes.LZ4] = lz4
codecs[CompressionTypes.ZSTD] = zstd

export const compressionTypes = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const

export type CompressionName = keyof typeof compressionTypes
