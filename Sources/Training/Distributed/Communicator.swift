/// The collectives data-parallel training needs (docs/TRAINING.md, "Scale-out over MPI"). Every rank calls each
/// collective in the same order with its own contribution; the calls return on every rank with the same result.
/// `SingleProcessCommunicator` is the world of one process; `MPICommunicator` the world `mpirun` started.
public protocol Communicator: AnyObject {
    /// This process's index in the world, 0..<size; rank 0 alone writes files.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `values` on every rank by their element-wise sum over the ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Every rank's `values` (their counts may differ), in rank order.
    func allgatherv(_ values: [Float]) -> [[Float]]
    func allgatherv(_ values: [Int32]) -> [[Int32]]
    /// Returns once every rank has called it.
    func barrier()
}

extension Communicator {
    /// Whether this process writes the state, the report and the export.
    public var isRoot: Bool { rank == 0 }

    /// `values` summed over the ranks (counts up to 2⁵³ are exact in a Double).
    public func sum(_ values: [Double]) -> [Double] {
        var result = values
        result.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return result
    }

    public func sum(_ value: Int) -> Int { Int(sum([Double(value)])[0]) }
}
