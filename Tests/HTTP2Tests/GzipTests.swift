import Testing

@testable import HTTP2

struct GzipTests {
    @Test func roundTripsAndBoundsInflation() throws {
        let original = Array(String(repeating: "scoring request ", count: 1000).utf8)
        let compressed = try #require(Gzip.compress(original))
        #expect(compressed.count < original.count / 10)
        #expect(try Gzip.decompress(compressed, limit: original.count) == original)
        #expect(throws: Gzip.Failure.tooLarge) { try Gzip.decompress(compressed, limit: original.count - 1) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(Array(compressed.dropLast(5)), limit: 1 << 20) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress([1, 2, 3, 4], limit: 1 << 20) }
        #expect(try Gzip.decompress(compressed + compressed, limit: 1 << 20) == original + original)
    }

    @Test func acceptEncodingHonoursQuality() {
        #expect(ContentCoding.acceptsGzip("gzip, deflate, br"))
        #expect(ContentCoding.acceptsGzip("br;q=1.0, gzip;q=0.5"))
        #expect(!ContentCoding.acceptsGzip("gzip;q=0"))
        #expect(!ContentCoding.acceptsGzip("identity"))
        #expect(ContentCoding.acceptsGzip("*"))
        #expect(!ContentCoding.acceptsGzip("*, gzip;q=0"))
        #expect(!ContentCoding.acceptsGzip(nil))
    }

    @Test func errorBodyIsProjectJSON() {
        let response = TransportError.unsupportedContentEncoding("br").response
        #expect(response.status == 415)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"error":{"code":"unsupported_content_encoding","message":"Unsupported content encoding 'br'; only gzip is accepted"}}"#
        )
        var writer = JSONWriter()
        writer.string("a\"b\\c\n\u{1}")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""a\"b\\c\n\u0001""#)
    }
}
