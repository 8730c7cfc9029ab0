/// One network of a checkpoint: its shape and its tensors, looked up by the unprefixed names of `NetworkShape`'s
/// name functions (the student's tensors have no prefix; a separate CTR network's carry `ctrNetworkPrefix`).
public struct NetworkWeights: Sendable {
    public let checkpoint: Checkpoint
    public let shape: NetworkShape

    /// The float values of this network's tensor `name`; a view into the checkpoint, valid while it lives.
    public func values(_ name: String) -> UnsafeBufferPointer<Float> {
        checkpoint.values(shape.tensorPrefix + name)
    }
}
