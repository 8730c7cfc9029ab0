import FoundationEssentials
import Ranking
import Testing

@testable import Training

/// `StrictJSON`'s one way of reading hand-written files: keys left out keep `init()`'s values at any depth, a
/// file's values survive exactly, and required schema keys are named by validation.
struct ConfigurationDecodingTests {
    @Test func anEmptyObjectIsTheDefaults() throws {
        let empty = Data("{}".utf8)
        #expect(try StrictJSON.decode(TrainingConfiguration.self, from: empty) == TrainingConfiguration())
        #expect(try StrictJSON.decode(TrainingSchema.self, from: empty) == TrainingSchema())
    }

    @Test func missingNestedKeysKeepTheirDefaultsAndGivenOnesWin() throws {
        let json =
            #"{"losses": {"model": "esmm", "ips_clip": 7}, "optimizer": {"learning_rate": 0.5},"#
            + #" "seed": 18446744073709551615, "calibration": {"method": "platt"}}"#
        let decoded = try StrictJSON.decode(TrainingConfiguration.self, from: Data(json.utf8))
        var expected = TrainingConfiguration()
        expected.losses.model = .esmm
        expected.losses.ipsClip = 7
        expected.optimizer.learningRate = 0.5
        expected.seed = .max  // 64-bit integers are kept exactly, not through a Double
        expected.calibration.method = .platt
        #expect(decoded == expected)
    }

    @Test func everyEncodedKeyReadsBack() throws {
        var configuration = TrainingConfiguration()
        configuration.losses.delay = .matureOnly
        configuration.optimizer.embeddingLearningRate = 0.01
        configuration.validationFraction = 0.2
        let data = try JSONEncoder().encode(configuration)
        #expect(try StrictJSON.decode(TrainingConfiguration.self, from: data) == configuration)
    }

    /// `ctr_network`: `auto` means separate under ESDC only; naive cannot take a separate one.
    @Test func theCTRNetworkChoiceResolvesByModel() throws {
        for (json, separate) in [
            (#"{}"#, true), (#"{"model": "esmm"}"#, false), (#"{"model": "esmm", "ctr_network": "separate"}"#, true),
            (#"{"ctr_network": "shared"}"#, false), (#"{"model": "naive"}"#, false),
        ] {
            let losses = try StrictJSON.decode(LossConfiguration.self, from: Data(json.utf8))
            #expect(losses.usesSeparateCTRNetwork == separate, "\(json)")
        }
        var configuration = TrainingConfiguration()
        configuration.losses.model = .naive
        configuration.losses.ctrNetwork = .separate
        #expect(throws: SpecError.self) { try configuration.validate() }
        #expect(throws: (any Error).self) {
            try StrictJSON.decode(LossConfiguration.self, from: Data(#"{"ctr_network": "own"}"#.utf8))
        }
    }

    @Test func aWrongTypeIsStillAnError() {
        #expect(throws: (any Error).self) {
            try StrictJSON.decode(TrainingConfiguration.self, from: Data(#"{"epochs": "two"}"#.utf8))
        }
    }

    /// A state written before a key existed still loads (`filled` skips only the unknown-key check).
    @Test func filledAcceptsWhatAnOlderWriterLeftOut() throws {
        let json = #"{"network": {"architecture": "mmoe", "experts": 2, "expert_layers": [8], "tower_layers": [4]}}"#
        let decoded = try StrictJSON.filled(TrainingConfiguration.self, from: Data(json.utf8))
        #expect(decoded.network == .mmoe(experts: 2, expertLayers: [8], towerLayers: [4]))
        #expect(decoded.losses == LossConfiguration() && decoded.optimizer == AdamOptimizer())
    }

    @Test func aNullKeepsTheDefault() throws {
        let json = #"{"epochs": null, "losses": {"model": null, "ips_clip": 3}}"#
        var expected = TrainingConfiguration()
        expected.losses.ipsClip = 3
        #expect(try StrictJSON.decode(TrainingConfiguration.self, from: Data(json.utf8)) == expected)
    }

    @Test func aSchemaWithoutFieldsOrLabelsIsNamedByValidation() throws {
        #expect { try TrainingSchema().validate() } throws: { "\($0)".contains("features.fields is required") }
        var schema = TestSupport.schema
        schema.labels.conversion = ""
        #expect { try schema.validate() } throws: { "\($0)".contains("labels.click and labels.conversion") }
    }
}
