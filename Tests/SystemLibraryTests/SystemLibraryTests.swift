import CNghttp2
import COpenSSL
import CZlib
import Testing

/// The C libraries the HTTP/2 daemon is built on resolve through pkg-config and link, at the versions
/// the design assumes: Debian 12's nghttp2 1.52 has none of the later `*2` entry points (`nghttp2_session_mem_recv2`
/// and the like), so the transport uses the 1.52 API.
struct SystemLibraryTests {
    @Test func nghttp2Links() {
        let info = nghttp2_version(0)!.pointee
        #expect(info.version_num >= 0x01_34_00)  // 1.52.0
        #expect(String(cString: info.proto_str) == "h2")
    }

    @Test func openSSLLinks() {
        #expect(OpenSSL_version_num() >= 0x3000_0000)
        let context = SSL_CTX_new(TLS_server_method())
        #expect(context != nil)
        SSL_CTX_free(context)
    }

    @Test func zlibRoundTrips() {
        let text = Array(repeating: Array("funnel ".utf8), count: 64).flatMap { $0 }
        var compressedLength = compressBound(uLong(text.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        #expect(compress2(&compressed, &compressedLength, text, uLong(text.count), Z_BEST_SPEED) == Z_OK)
        #expect(Int(compressedLength) < text.count / 4)
        var restoredLength = uLong(text.count)
        var restored = [UInt8](repeating: 0, count: text.count)
        #expect(uncompress(&restored, &restoredLength, compressed, compressedLength) == Z_OK)
        #expect(restored == text)
    }
}
