import Ranking
import Testing

struct FeatureHashTests {
    @Test func xxh64MatchesPublishedVectors() {
        #expect(FeatureHash.xxh64(Array("".utf8), seed: 0) == 0xEF46_DB37_51D8_E999)
        #expect(FeatureHash.xxh64(Array("a".utf8), seed: 0) == 0xD24E_C4F1_A98C_6E5B)
        #expect(FeatureHash.xxh64(Array("abc".utf8), seed: 0) == 0x44BC_2CF5_AD77_0999)
        // 43 bytes: exercises the 32-byte stripes, an 8-byte word and the byte tail.
        #expect(
            FeatureHash.xxh64(Array("The quick brown fox jumps over the lazy dog".utf8), seed: 0)
                == 0x0B24_2D36_1FDA_71BC)
    }

    @Test func integersHashLikeTheirDecimalStrings() {
        for value: Int64 in [0, 7, 42, -3, 1_000_000_007, .max, .min] {
            let asString = FeatureHash.bucket(of: Array(String(value).utf8), seed: 5, buckets: 1000)
            #expect(FeatureHash.bucket(of: value, seed: 5, buckets: 1000) == asString)
        }
    }

    @Test func bucketsAvoidTheMissingRowAndDependOnTheSeed() {
        var differs = false
        for value: Int64 in 0..<500 {
            let bucket = FeatureHash.bucket(of: value, seed: 1, buckets: 10)
            #expect(bucket >= 1 && bucket < 10)
            differs = differs || bucket != FeatureHash.bucket(of: value, seed: 2, buckets: 10)
        }
        #expect(differs)
    }

    @Test func crc32cMatchesTheCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }
}
