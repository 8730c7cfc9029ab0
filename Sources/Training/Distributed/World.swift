import FoundationEssentials

/// Which world this process is in, from the environment `mpirun` sets: no extra flag, and a process started
/// without `mpirun` (or with one rank) never touches MPI.
public enum World {
    /// `MPICommunicator` when OpenMPI's launcher started this process in a world of more than one rank; otherwise
    /// the single process.
    public static func communicator(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> any Communicator
    {
        guard let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }), size > 1 else {
            return SingleProcessCommunicator()
        }
        return MPICommunicator()
    }
}
