/// Funnel checkpoint format, version 1. The full specification is `docs/CHECKPOINT.md`; in brief (all
/// integers little-endian, offsets absolute unless stated):
///
///     preamble (96 bytes)
///       0  magic "FNLCKPT\0"        8  u32 version (1)       12 u32 tensor count
///      16  u64 header offset (96)  24  u64 header length     32 u64 table offset
///      40  u64 table length        48  u64 data offset       56 u64 data length
///      64  u64 file length         72  u32 header CRC32C     76 u32 table CRC32C
///      80  u32 flags (0)           84  u32 reserved (0)      88 u32 reserved (0)
///      92  u32 CRC32C of bytes 0..<92
///     header: UTF-8 JSON (`CheckpointHeader`), sorted keys
///     tensor table, at an 8-aligned offset; per tensor:
///       u32 name length, u32 dtype (1 = float32), u32 rank, u32 CRC32C of the tensor's bytes,
///       u64 offset (relative to the data offset, a multiple of 64), u64 byte length, u64 dims[rank],
///       name (UTF-8), zero-padded to a multiple of 8
///     data, at a 64-aligned offset: each tensor row-major, 64-aligned, zero padding between
enum CheckpointFormat {
    static let magic: [UInt8] = Array("FNLCKPT".utf8) + [0]
    static let version: UInt32 = 1
    static let preambleLength = 96
    static let dataAlignment = 64
    static let dtypeFloat32: UInt32 = 1
    static let maxRank = 8

    static func aligned(_ value: Int, to alignment: Int) -> Int { (value + alignment - 1) / alignment * alignment }
}
