import Ranking
import Testing

@testable import Training

/// The sparse and dense merge of `GradientExchange`, and a data-parallel step against the step on the union of the
/// ranks' rows.
struct GradientExchangeTests {
    /// Rank 0 touches rows 1 and 3, rank 1 rows 3 and 4: afterwards both hold every touched row, row 3 the sum of the
    /// two ranks' gradients, each weighted by its rank's share, and the dense gradients' weighted sum.
    @Test func duplicateRowsAreSummedAndEveryTouchedRowIsMarked() throws {
        let world = ThreadWorld(size: 2)
        let results = try world.run { rank in
            var random = SplitMix64(seed: 5)
            let table = EmbeddingTable(name: "t", rows: 6, dimension: 2, random: &random)
            let dense = Parameter(name: "w", shape: [3], random: &random)
            let pairs: [(Int, [Float])] = rank == 0 ? [(1, [1, 2]), (3, [0.5, 0.5])] : [(3, [2, -1]), (4, [4, 8])]
            for (row, g) in pairs {
                g.withUnsafeBufferPointer { table.accumulate(row: row, weight: 1, $0.baseAddress!) }
            }
            for i in 0..<3 { dense.gradient.pointer[i] = Float(rank + 1) * Float(i) }
            let share: Float = rank == 0 ? 0.75 : 0.25
            GradientExchange(communicator: world.communicator(rank: rank))
                .synchronize(dense: [dense], tables: [table], share: share)
            return (
                Set(table.touchedRows), Array(UnsafeBufferPointer(start: table.gradient.pointer, count: 12)),
                Array(UnsafeBufferPointer(start: dense.gradient.pointer, count: 3))
            )
        }
        let expected: [Float] = [0, 0, 0.75, 1.5, 0, 0, 0.375 + 0.5, 0.375 - 0.25, 1, 2, 0, 0]
        for (touched, gradient, dense) in results {
            #expect(touched == [1, 3, 4])
            #expect(gradient == expected)
            #expect(dense == [0, 0.75 + 0.5, 1.5 + 1])
        }
    }

    /// ESMM (every loss a mean over the batch): two ranks stepping on the two shards of 512 rows with the global row
    /// count end bit-identical to each other and equal, up to float reassociation, to one trainer stepping on all 512.
    @Test func aDataParallelStepIsTheStepOnTheUnionOfTheRows() throws {
        let (directory, schema) = TestSupport.smallWorld
        let configuration = TestSupport.smallConfiguration(.esmm, batchSize: 512)
        let reader = try TrainingDataReader(path: directory + "/train.csv", schema: schema)
        let data = EncodedRows(layout: reader.layout, capacity: 512)
        _ = try reader.read(into: data)
        let union = Array(0..<data.count)
        let reference = try Trainer(schema: schema, configuration: configuration, threads: 1)
        reference.step(data, rows: union)
        let shared = Unchecked(data)
        let world = ThreadWorld(size: 2)
        let replicas = try world.run { rank in
            let trainer = try Trainer(schema: schema, configuration: configuration, threads: 1)
            trainer.communicator = world.communicator(rank: rank)
            let shard = RequestShard(rank: rank, size: 2)
            let rows = union.filter { shard.keeps(shared.value, row: $0, ordinal: $0) }
            trainer.step(shared.value, rows: rows, globalRows: union.count)
            return (rows.count, trainer.servingTensors().flatMap(\.values), trainer.rowsSeen)
        }
        #expect(replicas[0].0 > 100 && replicas[1].0 > 100 && replicas[0].0 + replicas[1].0 == union.count)
        #expect(replicas[0].1.map(\.bitPattern) == replicas[1].1.map(\.bitPattern))
        #expect(replicas.allSatisfy { $0.2 == union.count })
        let expected = reference.servingTensors().flatMap(\.values)
        // One Adam step moves a weight by about the learning rate (3e-3); reassociation moves it by far less.
        let off = zip(expected, replicas[0].1).filter { abs($0 - $1) > 1e-5 }.count
        let initial = try Trainer(schema: schema, configuration: configuration, threads: 1).servingTensors()
        let moved = zip(expected, initial.flatMap(\.values)).filter { abs($0 - $1) > 1e-3 }.count
        #expect(moved > 1000, "the step moved \(moved) weights")
        #expect(off == 0, "\(off) of \(expected.count) weights differ from the step on the union")
    }
}

/// Hands a value the test only reads to the rank threads.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
