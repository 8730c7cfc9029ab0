import COpenMPI

/// MPI_COMM_WORLD of the processes `mpirun` started. MPI's default error handler aborts the whole job on a failed
/// call, so no rank is left waiting in a collective for one that died; the return codes are checked only as a
/// guard against a handler changed elsewhere.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let world = funnel_mpi_comm_world()
    private var finalized = false

    /// Initialises MPI (once per process; only the main thread calls MPI, the GEMM threads never do).
    public init() {
        Self.check(MPI_Init(nil, nil), "MPI_Init")
        var rank: Int32 = 0, size: Int32 = 0
        Self.check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank")
        Self.check(MPI_Comm_size(world, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
    }

    /// Ends MPI: the last call of the process (MPI cannot be initialised again).
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        Self.check(MPI_Finalize(), "MPI_Finalize")
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        Self.check(
            MPI_Allreduce(
                funnel_mpi_in_place(), values.baseAddress, Int32(values.count), funnel_mpi_float(), funnel_mpi_sum(),
                world), "MPI_Allreduce")
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        Self.check(
            MPI_Allreduce(
                funnel_mpi_in_place(), values.baseAddress, Int32(values.count), funnel_mpi_double(), funnel_mpi_sum(),
                world), "MPI_Allreduce")
    }

    public func allgatherv(_ values: [Float]) -> [[Float]] { gather(values, type: funnel_mpi_float()) }

    public func allgatherv(_ values: [Int32]) -> [[Int32]] { gather(values, type: funnel_mpi_int32()) }

    public func barrier() { Self.check(MPI_Barrier(world), "MPI_Barrier") }

    /// The counts first (an allgather of one int each), then the values into one buffer split by rank.
    private func gather<T: Numeric>(_ values: [T], type: MPI_Datatype) -> [[T]] {
        var count = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        Self.check(
            MPI_Allgather(&count, 1, funnel_mpi_int32(), &counts, 1, funnel_mpi_int32(), world), "MPI_Allgather")
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        let total = Int(counts.reduce(0, +))
        var all = [T](repeating: 0, count: total)
        values.withUnsafeBufferPointer { send in
            all.withUnsafeMutableBufferPointer { receive in
                Self.check(
                    MPI_Allgatherv(
                        send.baseAddress, count, type, receive.baseAddress, counts, displacements, type, world),
                    "MPI_Allgatherv")
            }
        }
        return (0..<size).map { Array(all[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])]) }
    }

    private static func check(_ code: Int32, _ call: String) {
        precondition(code == funnel_mpi_success(), "\(call) failed with code \(code)")
    }
}
