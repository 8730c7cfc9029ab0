/// The categorical hash: XXH64 (Yann Collet's xxHash, 64-bit variant) of the value's canonical UTF-8 bytes,
/// seeded with `FeatureSpec.hashSeed`; the bucket is `1 + hash % (buckets − 1)`, so row 0 stays free for
/// "missing". Canonical bytes: a string as is; an integer (or an integral JSON number) as its decimal
/// digits, so `42`, `42.0` and `"42"` land in the same bucket. Stable across platforms and releases:
/// changing it is a checkpoint format change.
public enum FeatureHash {
    public static func bucket(of bytes: some Collection<UInt8>, seed: UInt64, buckets: Int) -> Int32 {
        Int32(1 + xxh64(bytes, seed: seed) % UInt64(buckets - 1))
    }

    public static func bucket(of value: Int64, seed: UInt64, buckets: Int) -> Int32 {
        Int32(1 + hash(of: value, seed: seed) % UInt64(buckets - 1))
    }

    /// XXH64 of an integer's canonical bytes: its decimal digits, so it equals the hash of the string `"42"`.
    public static func hash(of value: Int64, seed: UInt64) -> UInt64 {
        // Decimal digits without allocating: at most 20 bytes.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var magnitude = value.magnitude
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                digits[start] = UInt8(ascii: "-")
            }
            return xxh64(UnsafeBufferPointer(rebasing: digits[start..<20]), seed: seed)
        }
    }

    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    public static func xxh64(_ input: some Collection<UInt8>, seed: UInt64) -> UInt64 {
        input.withContiguousStorageIfAvailable { xxh64($0, seed: seed) } ?? xxh64(Array(input), seed: seed)
    }

    public static func xxh64(_ input: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        xxh64(UnsafeRawBufferPointer(input), seed: seed)
    }

    public static func xxh64(_ raw: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let length = raw.count
        var offset = 0
        var hash: UInt64
        if length >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while offset + 32 <= length {
                v1 = round(v1, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                v2 = round(v2, raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian)
                v3 = round(v3, raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian)
                v4 = round(v4, raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self).littleEndian)
                offset += 32
            }
            hash = rotate(v1, 1) &+ rotate(v2, 7) &+ rotate(v3, 12) &+ rotate(v4, 18)
            hash = merge(hash, v1)
            hash = merge(hash, v2)
            hash = merge(hash, v3)
            hash = merge(hash, v4)
        } else {
            hash = seed &+ p5
        }
        hash &+= UInt64(length)
        while offset + 8 <= length {
            hash ^= round(0, raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
            hash = rotate(hash, 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= length {
            hash ^= UInt64(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian) &* p1
            hash = rotate(hash, 23) &* p2 &+ p3
            offset += 4
        }
        while offset < length {
            hash ^= UInt64(raw[offset]) &* p5
            hash = rotate(hash, 11) &* p1
            offset += 1
        }
        hash ^= hash >> 33
        hash &*= p2
        hash ^= hash >> 29
        hash &*= p3
        hash ^= hash >> 32
        return hash
    }

    @inline(__always) private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotate(accumulator &+ input &* p2, 31) &* p1
    }

    @inline(__always) private static func merge(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        (hash ^ round(0, lane)) &* p1 &+ p4
    }

    @inline(__always) private static func rotate(_ x: UInt64, _ r: UInt64) -> UInt64 {
        (x << r) | (x >> (64 - r))
    }
}
