import Testing

@testable import HTTP2

struct JSONWriterTests {
    /// Numbers go through `write(to:)` into the buffer: the same text as `description`, for every magnitude.
    @Test func numbersReadAsTheirDescription() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let double = Double(bitPattern: state)
            guard double.isFinite else { continue }
            for value in [double, Double(Int32(truncatingIfNeeded: state >> 32)) / 7] {
                var writer = JSONWriter()
                writer.number(value)
                #expect(String(decoding: writer.bytes, as: UTF8.self) == value.description)
                guard Float(value).isFinite else { continue }
                var single = JSONWriter()
                single.number(Float(value))
                #expect(String(decoding: single.bytes, as: UTF8.self) == Float(value).description)
            }
        }
        var writer = JSONWriter()
        writer.number(Double.nan)
        writer.raw(",")
        writer.number(Float.infinity)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "null,null")
    }
}
