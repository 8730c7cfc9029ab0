/// Anything that scores encoded rows with pCTR and pCVR: the trainer's student or the serving network.
public protocol ConversionPredictor: AnyObject {
    /// Writes p_c and p_v of `rows` (indices into `data`) into `ctr` and `cvr` (each `rows.count` long).
    func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float])
    /// Rows per `predict` call it can take.
    var batchCapacity: Int { get }
}
