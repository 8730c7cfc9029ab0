import Ranking
import Testing

@testable import Training

/// `Trainer.train` in a world of ranks (threads standing in for MPI processes): sharding, the steps of a rank whose
/// shard ran out, and the replicas kept identical.
struct DistributedTrainingTests {
    /// ESDC with the delay model (teacher, student distilled from it, delay towers) over two ranks: the replicas end
    /// bit-identical, together they train on every row one process trains on, and the model is as good.
    @Test func twoRanksTrainOneModelOnTheWholeFile() throws {
        let (directory, schema) = TestSupport.smallWorld
        let configuration = with(TestSupport.smallConfiguration(.esdc, delay: .model)) {
            $0.calibration.method = .offset
        }
        let file = directory + "/train.csv"
        let single = try Trainer(schema: schema, configuration: configuration, threads: 1)
        let alone = try single.train(file: file)
        let world = ThreadWorld(size: 2)
        let replicas = try world.run { rank in
            let trainer = try Trainer(schema: schema, configuration: configuration, threads: 1)
            trainer.communicator = world.communicator(rank: rank)
            let summary = try trainer.train(file: file)
            let evaluation = try Evaluator(schema: trainer.schema).evaluate(
                trainer.predictor, file: directory + "/test.csv")
            return (
                summary.rows, trainer.servingTensors().flatMap(\.values).map(\.bitPattern),
                trainer.teacher!.denseParameters.flatMap(\.values).map(\.bitPattern), evaluation.ctr.auc ?? 0
            )
        }
        #expect(replicas[0].0 == alone.rows && replicas[1].0 == alone.rows)
        #expect(replicas[0].1 == replicas[1].1, "the students differ between the replicas")
        #expect(replicas[0].2 == replicas[1].2, "the teachers differ between the replicas")
        let reference = try Evaluator(schema: single.schema).evaluate(single.predictor, file: directory + "/test.csv")
        let (auc, expected) = (replicas[0].3, reference.ctr.auc!)
        #expect(abs(auc - expected) < 0.02, "CTR AUC \(auc) against \(expected) for one process")
    }

    /// Every rank must read the same file (each walks the same global batches and keeps its rows of them): a rank
    /// given another file is found at the first batch, on every rank, instead of the ranks stepping out of line.
    @Test func ranksThatReadDifferentDataAreRefused() throws {
        let (directory, schema) = TestSupport.smallWorld
        let configuration = TestSupport.smallConfiguration(.esmm, batchSize: 256)
        let world = ThreadWorld(size: 3)
        let messages = try world.run { rank in
            let trainer = try Trainer(schema: schema, configuration: configuration, threads: 1)
            trainer.communicator = world.communicator(rank: rank)
            do {
                _ = try trainer.train(file: directory + (rank == 2 ? "/test.csv" : "/train.csv"))
                return ""
            } catch {
                return "\(error)"
            }
        }
        for message in messages { #expect(message.contains("they read different data"), "\(message)") }
    }
}
