/// What the ESDC teacher hands the student for one batch, all detached from the teacher's graph
/// (METHODS.md §10.4): its pCTR (propensity and CTR soft label), the CVR soft label q and the
/// distillation weight of each row.
struct TeacherSignals {
    var ctr: [Double]
    var cvr: [Double]
    var weight: [Double]
    /// λ and λ_ctr after warm-up (0 during it).
    var distillationWeight: Double
    var ctrDistillationWeight: Double
}
