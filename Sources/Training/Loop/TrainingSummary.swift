/// What a finished `Trainer.train` reports.
public struct TrainingSummary: Sendable {
    /// Rows and optimizer steps of this call (not counting what a resumed state trained before).
    public var rows = 0
    public var steps = 0
    public var seconds = 0.0
    public var rowsPerSecond = 0.0
    public var finalLoss = Double.nan
    public var runningCTRAUC: Double?
    public var skippedRows = 0
    /// Late clicks and conversions trained as what the snapshot could show.
    public var corrections = LabelCorrections()
    public var firstErrors: [DataError] = []
    /// The offsets of the post-training calibration, when enabled.
    public var calibration: CalibrationResult?
    /// Rows held out of training for it.
    public var heldOutRows = 0
    /// Per epoch, the student's figures on the validation slice; and the epoch whose weights it kept.
    public var validation: [ValidationFigures] = []
    public var chosenEpoch: Int?
    /// Embedding rows of the serving networks that no gradient reached, set to their table's trained mean.
    public var untrainedEmbeddingRows = 0
    /// Wall time of the calibration pass (not in `seconds` and `rowsPerSecond`).
    public var calibrationSeconds = 0.0
}
