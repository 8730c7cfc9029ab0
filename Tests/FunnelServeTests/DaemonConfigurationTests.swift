import Foundation
import Ranking
import Testing

@testable import FunnelServe

/// The daemon's configuration file: every key optional, values kept exactly, a misspelt key named.
struct DaemonConfigurationTests {
    @Test func anEmptyObjectIsTheDefaults() throws {
        #expect(try StrictJSON.decode(DaemonConfiguration.self, from: Data("{}".utf8)) == DaemonConfiguration())
    }

    @Test func givenKeysWinAndEveryEncodedKeyReadsBack() throws {
        let json = #"{"port": 9000, "access_log": "stderr", "score": null, "tls_allow_cleartext": true}"#
        var expected = DaemonConfiguration()
        expected.port = 9000
        expected.accessLog = "stderr"
        expected.tlsAllowCleartext = true
        #expect(try StrictJSON.decode(DaemonConfiguration.self, from: Data(json.utf8)) == expected)
        #expect(try StrictJSON.decode(DaemonConfiguration.self, from: JSONEncoder().encode(expected)) == expected)
    }

    @Test func aMisspeltKeyIsNamed() {
        #expect {
            try StrictJSON.decode(DaemonConfiguration.self, from: Data(#"{"max_batch_row": 8}"#.utf8))
        } throws: { "\($0)".contains("unknown key \"max_batch_row\"") }
    }
}
