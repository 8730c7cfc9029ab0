import Ranking
import Testing

@testable import Training

/// Every layer's backward against central differences (loss = Σ c ⊙ output with fixed random c).
struct LayerGradientTests {
    @Test func linearWithReLU() {
        var random = SplitMix64(seed: 1)
        let scratch = ScratchSpace()
        let layer = Linear(name: "l", inputs: 7, outputs: 19, scratch: scratch, random: &random)
        var values = TestValues(seed: 2)
        let rows = 13
        let x = TestBuffer(values.floats(rows * 7))
        let c = values.floats(rows * 19)
        var y = [Float](repeating: 0, count: rows * 19)
        func loss() -> Double {
            layer.forward(x.pointer, ldx: 7, rows: rows, into: &y, ldy: 19, relu: true)
            return zip(y, c).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        var dy = zip(y, c).map { $0 > 0 ? $1 : 0 }  // ReLU backward
        var dx = [Float](repeating: 0, count: rows * 7)
        layer.weight.zeroGradient()
        layer.bias!.zeroGradient()
        layer.backward(x.pointer, ldx: 7, rows: rows, dy: &dy, lddy: 19, dx: &dx, lddx: 7, accumulate: false)
        var checks = TensorChecks()
        checks.add("weight", layer.weight.value.pointer, count: 7 * 19, refresh: layer.refresh, loss: loss) {
            layer.weight.gradient.pointer[$0]
        }
        checks.add("bias", layer.bias!.value.pointer, count: 19, loss: loss) { layer.bias!.gradient.pointer[$0] }
        checks.add("input", x.pointer, count: rows * 7, loss: loss) { dx[$0] }
        checks.expectAccurate(within: 1e-2, "linear")
    }

    @Test func mlpWithDropoutAccumulatesIntoItsInput() {
        var random = SplitMix64(seed: 3)
        let scratch = ScratchSpace()
        let mlp = MLP(
            inputs: 6, widths: [9, 5, 1], names: ["a", "b", "c"], reluOnLast: false, dropout: 0.3,
            dropoutLayers: [0, 2],
            scratch: scratch, random: &random)
        let rows = 11
        let trace = mlp.makeTrace(capacity: rows)
        var values = TestValues(seed: 4)
        let x = TestBuffer(values.floats(rows * 6))
        let c = values.floats(rows)
        func loss() -> Double {
            var masks = SplitMix64(seed: 99)  // the same dropout masks on every evaluation
            mlp.forward(x.pointer, ldInput: 6, rows: rows, trace: trace, training: true, random: &masks)
            return (0..<rows).reduce(0.0) { $0 + Double(trace.output[$1] * c[$1]) }
        }
        _ = loss()
        for r in 0..<rows { trace.outputGradient[r] = c[r] }
        mlp.parameters.forEach { $0.zeroGradient() }
        var dx = [Float](repeating: 1, count: rows * 6)  // accumulate: starts at 1
        mlp.backward(trace: trace, dInput: &dx, ldDInput: 6, accumulate: true)
        var checks = TensorChecks()
        for parameter in mlp.parameters {
            checks.add(
                parameter.name, parameter.value.pointer, count: parameter.count, refresh: mlp.refresh, loss: loss
            ) {
                parameter.gradient.pointer[$0]
            }
        }
        checks.add("input", x.pointer, count: rows * 6, loss: loss) { dx[$0] - 1 }
        checks.expectAccurate(within: 1e-2, "mlp")
    }

    @Test func softmaxGateMixture() {
        var values = TestValues(seed: 5)
        let rows = 4, experts = 3, width = 5
        let logits = TestBuffer(values.floats(rows * experts))
        let outputs = (0..<experts).map { _ in TestBuffer(values.floats(rows * width)) }
        let c = values.floats(rows * width)
        var gates = [Float](repeating: 0, count: rows * experts)
        var mixed = [Float](repeating: 0, count: rows * width)
        func loss() -> Double {
            let pointers = outputs.map { (UnsafePointer($0.pointer), width) }
            SoftmaxGate.forward(
                logits: logits.pointer, ldLogits: experts, rows: rows, experts: pointers, width: width, gates: &gates,
                into: &mixed)
            return zip(mixed, c).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        var dExperts = (0..<experts).map { _ in [Float](repeating: 0, count: rows * width) }
        var dLogits = [Float](repeating: 0, count: rows * experts)
        let dExpertBuffers = dExperts.map { TestBuffer($0) }
        SoftmaxGate.backward(
            dOut: c, rows: rows, experts: outputs.map { (UnsafePointer($0.pointer), width) },
            dExperts: dExpertBuffers.map { ($0.pointer, width) }, width: width, gates: gates, dLogits: &dLogits)
        dExperts = dExpertBuffers.map(\.values)
        var checks = TensorChecks()
        checks.add("logits", logits.pointer, count: rows * experts, loss: loss) { dLogits[$0] }
        for e in 0..<experts {
            checks.add("expert \(e)", outputs[e].pointer, count: rows * width, loss: loss) { dExperts[e][$0] }
        }
        checks.expectAccurate(within: 1e-2, "softmax gate")
    }

    @Test func embeddingBagsMatchEmbeddingLookupAndSumIntoRows() throws {
        let path = TestSupport.temporaryDirectory("bags") + "/data.csv"
        try TestSupport.write(
            TestSupport.header + "\nr,u1,a|b:2|c,3,i1,5,,0,0,,,100\nr,u2,b,,i1,1,,0,0,,,100\n", to: path)
        let data = try TrainingDataReader.readAll(path: path, schema: TestSupport.schema)
        var random = SplitMix64(seed: 6)
        let bags = EmbeddingBags(layout: data.layout, blocks: [.shared, .item], random: &random)
        var x = [Float](repeating: 0, count: 2 * bags.width)
        bags.forward(data, rows: [0, 1], into: &x)
        // The serving lookup over the same tables gives the same columns.
        let shape = NetworkShape(
            features: TestSupport.schema.servingFeatures, network: .sharedBottom(layers: [4], towerLayers: []))
        var tensors = RandomInitializer.tensors(for: shape, seed: 1)
        let tables = Dictionary(uniqueKeysWithValues: bags.tables.map { ($0.name, $0.values) })
        tensors = tensors.map { tensor in
            guard let values = tables[tensor.name] else { return tensor }
            return CheckpointWriter.Tensor(name: tensor.name, shape: tensor.shape, values: values)
        }
        let header = CheckpointHeader(
            model: ModelIdentity(name: "t", version: 1), features: shape.features, network: shape.network,
            score: ScoreFormula(),
            training: TrainingMetadata(producer: "test"))
        let lookup = EmbeddingLookup(
            checkpoint: try Checkpoint(bytes: try CheckpointWriter(header: header, tensors: tensors).encoded()))
        for row in 0..<2 {
            var served = [Float](repeating: 0, count: bags.width)
            let shared = data.slots(.shared, row: row), item = data.slots(.item, row: row)
            lookup.gather(.shared, indices: shared.indices, weights: shared.weights, into: &served)
            served.withUnsafeMutableBufferPointer { p in
                lookup.gather(
                    .item, indices: item.indices, weights: item.weights, into: p.baseAddress! + data.layout.shared.width
                )
            }
            #expect(served == Array(x[row * bags.width..<(row + 1) * bags.width]))
        }
        // Backward: loss = Σ c ⊙ x, checked on every table entry the batch touches.
        var values = TestValues(seed: 7)
        let c = values.floats(2 * bags.width)
        func loss() -> Double {
            bags.forward(data, rows: [0, 1], into: &x)
            return zip(x, c).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        bags.backward(data, rows: [0, 1], dx: c)
        #expect(bags.tables.allSatisfy { !$0.touchedRows.isEmpty })
        TensorChecks(tables: bags.tables, dense: [], refresh: {}, loss: loss).expectAccurate(within: 1e-3, "bags")
        bags.tables.forEach { $0.zeroGradient() }
        #expect(bags.tables.allSatisfy { $0.touchedRows.isEmpty && $0.gradient.pointer[0] == 0 })
    }

    @Test func dropoutKeepsExpectationAndMasksGradients() {
        var random = SplitMix64(seed: 8)
        let x = [Float](repeating: 1, count: 10_000)
        var mask = [Float](repeating: 0, count: x.count), y = mask
        Dropout.forward(
            x, ldx: x.count, rows: 1, width: x.count, probability: 0.2, mask: &mask, into: &y, random: &random)
        let mean = y.reduce(0, +) / Float(y.count)
        #expect(abs(mean - 1) < 0.03)
        var dx = [Float](repeating: 0, count: x.count)
        Dropout.backward(x, rows: 1, width: x.count, mask: mask, dx: &dx, lddx: x.count, accumulate: false)
        #expect(dx == mask)
    }
}
