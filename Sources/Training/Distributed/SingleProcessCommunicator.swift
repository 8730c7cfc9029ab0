/// The world of one process: every collective returns this process's own contribution. What the trainer uses
/// unless `mpirun` started it (`World.communicator()`), without touching MPI.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allgatherv(_ values: [Float]) -> [[Float]] { [values] }
    public func allgatherv(_ values: [Int32]) -> [[Int32]] { [values] }
    public func barrier() {}
}
