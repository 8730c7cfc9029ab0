/// What the ESDC teacher hands the student for one batch, all detached from the teacher's graph
/// (docs/MODELS.md §5.4): its pCTR (propensity and CTR soft label), the CVR soft label q and the
/// distillation weight of each row.
struct TeacherSignals {
    var ctr: [Double]
    var cvr: [Double]
    var weight: [Double]
    /// λ and λ_ctr after warm-up (0 during it).
    var distillationWeight: Double
    var ctrDistillationWeight: Double
    /// With delay modelling: the teacher's F(e), the probability that a conversion of this row would already
    /// be visible at the snapshot (1 once the window elapsed); the student's CTCVR term uses it (docs/MODELS.md §6).
    var visible: [Double]? = nil
}
