import Testing

@testable import Training

/// The single-process world (what the trainer uses without `mpirun`) and the choice of world from the environment.
struct CommunicatorTests {
    @Test func singleProcessCollectivesReturnTheOwnContribution() {
        let world = SingleProcessCommunicator()
        #expect(world.rank == 0 && world.size == 1 && world.isRoot)
        var floats: [Float] = [1.5, -2, 0.25]
        floats.withUnsafeMutableBufferPointer { world.allreduceSum($0) }
        #expect(floats == [1.5, -2, 0.25])
        #expect(world.sum([3, 4.5]) == [3, 4.5])
        #expect(world.sum(7) == 7)
        #expect(world.allgatherv([Float(1), 2]) == [[1, 2]])
        #expect(world.allgatherv([Int32]()) == [[]])
        world.barrier()
    }

    /// Only OpenMPI's launcher with more than one rank makes an MPI world; no variable, one rank or garbage do not.
    @Test func withoutMPIRunTheWorldIsOneProcess() {
        for environment in [[:], ["OMPI_COMM_WORLD_SIZE": "1"], ["OMPI_COMM_WORLD_SIZE": "x"]] {
            let world = World.communicator(environment: environment)
            #expect(world is SingleProcessCommunicator, "\(environment)")
        }
    }

    /// The test world the distributed tests use sums and gathers as MPI does, in rank order.
    @Test func threadWorldSumsAndGathersInRankOrder() throws {
        let world = ThreadWorld(size: 3)
        let results = try world.run { rank in
            let communicator = world.communicator(rank: rank)
            var values: [Float] = [Float(rank), 1]
            values.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
            let gathered = communicator.allgatherv(Array(repeating: Int32(rank), count: rank))
            return (values, gathered, communicator.sum(rank + 1))
        }
        for (values, gathered, sum) in results {
            #expect(values == [3, 3])
            #expect(gathered == [[], [1], [2, 2]])
            #expect(sum == 6)
        }
    }
}
