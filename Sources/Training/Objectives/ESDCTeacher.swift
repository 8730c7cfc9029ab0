import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The ESDC teacher (docs/MODELS.md §5): serving-field embeddings → PLE bottom → CTR tower; a CVR base
/// tower g run twice with independent dropout masks (s_g = (s_A + s_B)/2); a privileged residual r over
/// [h_cvr | privileged embeddings] giving the click-space logit s_v⁺ = s_g + r (never used on unclicked rows,
/// so post-click features cannot leak into entire-space terms, §5.1); and, with delay modelling, a hazard
/// tower on h_cvr. Its losses never see the student; the student gets only detached `TeacherSignals`.
final class ESDCTeacher {
    let schema: TrainingSchema
    private let scratch: ScratchSpace
    /// Threads of the teacher's matrix products (set by its trainer).
    var threads: Int {
        get { scratch.threads }
        set { scratch.threads = newValue }
    }
    let losses: LossConfiguration
    let capacity: Int
    let shape: NetworkShape
    let embeddings: EmbeddingBags
    let privileged: EmbeddingBags?
    let bottom: Bottom
    let ctrTower: MLP
    let cvrTower: MLP
    let residual: MLP?
    let delayHead: MLP?

    let bottomTrace: Bottom.Trace
    let ctrTrace: MLP.Trace
    let twinTraces: [MLP.Trace]
    let residualTrace: MLP.Trace?
    let delayTrace: MLP.Trace?
    let input: AlignedFloats, inputGradient: AlignedFloats
    /// [h_cvr | h_priv] and its gradient [capacity × (expertWidth + privileged width)].
    let residualInput: AlignedFloats?, residualInputGradient: AlignedFloats?
    private(set) var batch: [Int] = []
    var random: SplitMix64
    /// EMA of the batch-mean twin disagreement u (§5.4).
    private(set) var meanUncertainty: Double?
    /// Logits of the last forward pass: s_c, s_A, s_B, s_g, s_v⁺.
    private(set) var logitCTR: [Double] = [], logitA: [Double] = [], logitB: [Double] = []
    private(set) var logitBase: [Double] = [], logitClick: [Double] = []

    init(
        schema: TrainingSchema, network: NetworkSpec, losses: LossConfiguration, capacity: Int, delayHidden: Int,
        seed: UInt64
    ) {
        self.schema = schema
        self.losses = losses
        self.capacity = capacity
        var random = SplitMix64(seed: seed)
        let scratch = ScratchSpace()
        self.scratch = scratch
        shape = NetworkShape(features: schema.features, network: network)
        let layout = shape.layout
        embeddings = EmbeddingBags(layout: layout, blocks: [.shared, .item], random: &random)
        let usesPrivileged = losses.privilegedFeatures && layout.privileged.width > 0
        privileged = usesPrivileged ? EmbeddingBags(layout: layout, blocks: [.privileged], random: &random) : nil
        bottom = Bottom(shape: shape, inputWidth: layout.servingWidth, scratch: scratch, random: &random)
        let width = bottom.expertWidth
        let towers = network.towerLayers
        ctrTower = MLP(
            inputs: width, widths: towers + [1],
            names: towers.indices.map { "teacher.ctr.layer\($0)" } + ["teacher.ctr.logit"],
            reluOnLast: false, scratch: scratch, random: &random)
        cvrTower = MLP(
            inputs: width, widths: towers + [1],
            names: towers.indices.map { "teacher.cvr.layer\($0)" } + ["teacher.cvr.logit"],
            reluOnLast: false, dropout: losses.dropout, dropoutLayers: [0, towers.count], scratch: scratch,
            random: &random)
        residual =
            usesPrivileged
            ? MLP(
                inputs: width + layout.privileged.width, widths: [32, 1],
                names: ["teacher.residual.layer0", "teacher.residual.logit"],
                reluOnLast: false, scratch: scratch, random: &random) : nil
        delayHead =
            losses.delay == .model
            ? MLP(
                inputs: width, widths: [delayHidden, schema.delay.count],
                names: ["teacher.delay.layer0", "teacher.delay.logit"],
                reluOnLast: false, scratch: scratch, random: &random) : nil
        bottomTrace = bottom.makeTrace(capacity: capacity)
        ctrTrace = ctrTower.makeTrace(capacity: capacity)
        twinTraces = [cvrTower.makeTrace(capacity: capacity), cvrTower.makeTrace(capacity: capacity)]
        residualTrace = residual?.makeTrace(capacity: capacity)
        delayTrace = delayHead?.makeTrace(capacity: capacity)
        input = AlignedFloats(count: capacity * layout.servingWidth)
        inputGradient = AlignedFloats(count: capacity * layout.servingWidth)
        residualInput = residual.map { AlignedFloats(count: capacity * $0.inputWidth) }
        residualInputGradient = residual.map { AlignedFloats(count: capacity * $0.inputWidth) }
        self.random = random
    }

    var denseParameters: [Parameter] {
        bottom.parameters + ctrTower.parameters + cvrTower.parameters + (residual?.parameters ?? [])
            + (delayHead?.parameters ?? [])
    }
    var tables: [EmbeddingTable] { embeddings.tables + (privileged?.tables ?? []) }

    func refresh() {
        bottom.refresh()
        ctrTower.refresh()
        cvrTower.refresh()
        residual?.refresh()
        delayHead?.refresh()
    }

    func zeroGradients() {
        denseParameters.forEach { $0.zeroGradient() }
        tables.forEach { $0.zeroGradient() }
    }

    // ---------------------------------------------------------------------------------------------
    // forward: x → bottom → CTR tower, twin CVR passes (dropout only when training), residual, delay.

    func forward(_ data: EncodedRows, rows batch: [Int], training: Bool) {
        self.batch = batch
        let rows = batch.count
        let width = bottom.expertWidth
        embeddings.forward(data, rows: batch, into: input.pointer)
        bottom.forward(input.pointer, ldx: shape.layout.servingWidth, rows: rows, trace: bottomTrace, random: &random)
        let hCTR = UnsafePointer(bottomTrace.output(.ctr)), hCVR = UnsafePointer(bottomTrace.output(.cvr))
        ctrTower.forward(hCTR, ldInput: width, rows: rows, trace: ctrTrace, training: training, random: &random)
        cvrTower.forward(hCVR, ldInput: width, rows: rows, trace: twinTraces[0], training: training, random: &random)
        if training {
            cvrTower.forward(hCVR, ldInput: width, rows: rows, trace: twinTraces[1], training: true, random: &random)
        }
        let second = training ? twinTraces[1] : twinTraces[0]
        logitCTR = (0..<rows).map { Double(ctrTrace.output[$0]) }
        logitA = (0..<rows).map { Double(twinTraces[0].output[$0]) }
        logitB = (0..<rows).map { Double(second.output[$0]) }
        logitBase = zip(logitA, logitB).map { ($0 + $1) / 2 }
        logitClick = logitBase
        if let residual, let residualTrace, let residualInput, let privileged {
            let inputWidth = residual.inputWidth
            let privilegedColumns = AlignedFloats(count: rows * privileged.width)
            privileged.forward(data, rows: batch, into: privilegedColumns.pointer)
            for r in 0..<rows {
                let target = residualInput.pointer + r * inputWidth
                target.update(from: hCVR + r * width, count: width)
                // Unclicked rows have no post-click signals: zeros, and their residual is never used.
                if data.click[batch[r]] == 1 {
                    (target + width).update(
                        from: privilegedColumns.pointer + r * privileged.width, count: privileged.width)
                } else {
                    (target + width).update(repeating: 0, count: privileged.width)
                }
            }
            residual.forward(
                residualInput.pointer, ldInput: inputWidth, rows: rows, trace: residualTrace, training: training,
                random: &random)
            for r in 0..<rows where data.click[batch[r]] == 1 { logitClick[r] += Double(residualTrace.output[r]) }
        }
        if let delayHead, let delayTrace {
            delayHead.forward(hCVR, ldInput: width, rows: rows, trace: delayTrace, training: training, random: &random)
        }
    }

    /// The teacher loss L_T of docs/MODELS.md §5.3 for the last forward pass; writes ∂L_T/∂(every head's output).
    /// `propensities` overrides the detached IPS propensity p_c (tests hold it fixed for finite differences).
    /// `detachedBase` overrides s_g inside s_v⁺ = sg(s_g) + r (tests hold it at the unperturbed value, as the
    /// analytic gradient, which stops there, does).
    func applyLoss(_ data: EncodedRows, rows batch: [Int], propensities: [Double]? = nil, detachedBase: [Double]? = nil)
        -> LossBreakdown
    {
        if let detachedBase, residual != nil {
            for r in batch.indices where data.click[batch[r]] == 1 { logitClick[r] += detachedBase[r] - logitBase[r] }
        }
        var breakdown = LossBreakdown()
        let rows = batch.count, n = Double(rows)
        let window = schema.delay.attributionWindowHours
        var dCTR = [Double](repeating: 0, count: rows), dBase = [Double](repeating: 0, count: rows)
        var dClick = [Double](repeating: 0, count: rows)
        var dA = [Double](repeating: 0, count: rows), dB = [Double](repeating: 0, count: rows)
        let buckets = schema.delay.count
        let dHazards = delayTrace?.outputGradient
        dHazards?.update(repeating: 0, count: rows * buckets)
        var ctr = 0.0, ctcvr = 0.0, ips = 0.0, baseClick = 0.0, twin = 0.0
        for (r, row) in batch.enumerated() {
            let y = Double(data.click[row]), z = Double(data.conversion[row])
            ctr += BinaryCrossEntropy.loss(logit: logitCTR[r], target: y) / n
            dCTR[r] += BinaryCrossEntropy.gradient(logit: logitCTR[r], target: y) / n
            // Entire space, base CVR only (with the delay handling).
            var visible = ClickSpaceLikelihood.Visible.none
            if let delayTrace, let dHazards {
                visible = .hazards(UnsafePointer(delayTrace.output + r * buckets), gradient: dHazards + r * buckets)
            }
            if let term = EntireSpaceLikelihood.evaluate(
                logitCTR: logitCTR[r], logitCVR: logitBase[r],
                label: .init(data, row: row, delay: losses.delay, window: window), clicked: y == 1,
                converted: z == 1, delayBucket: Int(data.delayBucket[row]), buckets: schema.delay, visible: visible,
                weight: losses.ctcvrWeight / n)
            {
                ctcvr += term.loss
                dCTR[r] += term.dLogitCTR
                dBase[r] += term.dLogitCVR
            }
            guard y == 1 else { continue }
            // IPS on the privileged click-space logit; base CVR on clicks (ClickSpaceLikelihood: hard labels
            // where final, the DFM likelihood with this teacher's F(e) on the newest unconverted clicks).
            var clickVisible = ClickSpaceLikelihood.Visible.none
            if let delayTrace, let dHazards {
                clickVisible = .hazards(
                    UnsafePointer(delayTrace.output + r * buckets), gradient: dHazards + r * buckets)
            }
            let elapsed = Double(data.elapsedHours[row])
            let propensity = propensities?[r] ?? LogisticMath.sigmoid(logitCTR[r])
            let weight = losses.inversePropensity(propensity)
            if let term = ClickSpaceLikelihood.evaluate(
                logit: logitClick[r], converted: z == 1, delayBucket: Int(data.delayBucket[row]), elapsedHours: elapsed,
                delay: losses.delay, buckets: schema.delay,
                weight: losses.ipsWeight * weight / n, visible: clickVisible)
            {
                ips += term.loss
                dClick[r] += term.dLogit
            }
            if let term = ClickSpaceLikelihood.evaluate(
                logit: logitBase[r], converted: z == 1, delayBucket: Int(data.delayBucket[row]), elapsedHours: elapsed,
                delay: losses.delay, buckets: schema.delay,
                weight: losses.baseClickWeight / n, visible: clickVisible)
            {
                baseClick += term.loss
                dBase[r] += term.dLogit
            }
            do {
                // L_RD summed over clicked rows / N like every other click-space term. A mean over the clicks
                // (1/|Y|) makes it ≈ N/|Y| ≈ 25× heavier per click than L_BASE-CLK; tried, it dominated the base
                // tower (whose symmetric KL is smallest at saturated logits) and s_g on
                // unclicked rows drifted to ≈ 2× the true pCVR.
                let wt = losses.twinWeight / n
                twin += wt * TwinConsistency.loss(logitA[r], logitB[r])
                let (ga, gb) = TwinConsistency.gradient(logitA[r], logitB[r])
                dA[r] += wt * ga
                dB[r] += wt * gb
            }
        }
        // s_v⁺ = sg(s_g) + r: with a residual, the click-space (IPS) gradient trains only r. Letting it reach s_g
        // too leaves the split of s_v⁺ between s_g and r unidentified, and the IPS term
        // (weights up to w_max) outweighs L_BASE-CLK: s_g drifted to ≈ 2× the true pCVR on unclicked rows
        // (q_unclicked 0.28 vs 0.14), and the distilled student with it (CVR PCOC 2.3). With the stop-gradient,
        // s_g is an entire-space base CVR (CTCVR-DF + base-click) and r the privileged correction on clicks.
        // s_g = (s_A + s_B)/2 splits upstream gradients ½/½.
        let residualGradient = residualTrace?.outputGradient
        for r in 0..<rows {
            let base = dBase[r] + (residual == nil ? dClick[r] : 0)
            ctrTrace.outputGradient[r] = Float(dCTR[r])
            twinTraces[0].outputGradient[r] = Float(dA[r] + base / 2)
            twinTraces[1].outputGradient[r] = Float(dB[r] + base / 2)
            residualGradient?[r] = Float(dClick[r])
        }
        breakdown.add("ctr", ctr)
        breakdown.add("ctcvr", ctcvr)
        breakdown.add("ips", ips)
        breakdown.add("base_click", baseClick)
        breakdown.add("twin", twin)
        return breakdown
    }

    // backward: heads → h_ctr, h_cvr → bottom → embeddings (teacher parameters only).

    func backward(_ data: EncodedRows) {
        let rows = batch.count, width = bottom.expertWidth
        ctrTower.backward(trace: ctrTrace, dInput: bottomTrace.outputGradient(.ctr), ldDInput: width, accumulate: false)
        let dCVR = bottomTrace.outputGradient(.cvr)
        dCVR.update(repeating: 0, count: rows * width)
        for trace in twinTraces { cvrTower.backward(trace: trace, dInput: dCVR, ldDInput: width, accumulate: true) }
        if let residual, let residualTrace, let residualInputGradient, let privileged {
            let inputWidth = residual.inputWidth
            residual.backward(
                trace: residualTrace, dInput: residualInputGradient.pointer, ldDInput: inputWidth, accumulate: false)
            let dPrivileged = AlignedFloats(count: rows * privileged.width)
            for r in 0..<rows {
                let source = residualInputGradient.pointer + r * inputWidth
                for j in 0..<width { dCVR[r * width + j] += source[j] }
                if data.click[batch[r]] == 1 {
                    (dPrivileged.pointer + r * privileged.width).update(from: source + width, count: privileged.width)
                }
            }
            privileged.backward(data, rows: batch, dx: dPrivileged.pointer)
        }
        if let delayHead, let delayTrace {
            delayHead.backward(trace: delayTrace, dInput: dCVR, ldDInput: width, accumulate: true)
        }
        let inputWidth = shape.layout.servingWidth
        inputGradient.pointer.update(repeating: 0, count: rows * inputWidth)
        bottom.backward(trace: bottomTrace, dx: inputGradient.pointer, lddx: inputWidth)
        embeddings.backward(data, rows: batch, dx: inputGradient.pointer)
    }

    /// Detached soft labels and distillation weights of the last forward pass (docs/MODELS.md §5.4).
    /// `sumOverRanks` sums the batch's uncertainty and rows over the MPI ranks, so every replica's running mean is
    /// the global batch's (a collective: under MPI every rank calls this, with its rows or none).
    func signals(
        _ data: EncodedRows, rows batch: [Int], distillationWeight: Double, ctrDistillationWeight: Double,
        sumOverRanks: ([Double]) -> [Double] = { $0 }
    ) -> TeacherSignals {
        let rows = batch.count
        let window = schema.delay.attributionWindowHours
        var cvr = [Double](repeating: 0, count: rows), weight = [Double](repeating: 1, count: rows)
        var uncertainty = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            cvr[r] = LogisticMath.clamp(LogisticMath.sigmoid(data.click[batch[r]] == 1 ? logitClick[r] : logitBase[r]))
            uncertainty[r] = TwinConsistency.loss(logitA[r], logitB[r])
        }
        if losses.uncertaintyWeighting {
            let sums = sumOverRanks([uncertainty.reduce(0, +), Double(rows)])
            let batchMean = sums[0] / max(sums[1], 1)
            meanUncertainty = meanUncertainty.map { 0.99 * $0 + 0.01 * batchMean } ?? batchMean
            for (r, row) in batch.enumerated() {
                weight[r] = min(max(exp(-uncertainty[r] / (meanUncertainty! + 1e-8)), 0.05), 1)
                if data.click[row] == 1, data.windowElapsed(row, window: window) { weight[r] = 1 }
            }
        }
        return TeacherSignals(
            ctr: logitCTR.map { LogisticMath.clamp(LogisticMath.sigmoid($0)) }, cvr: cvr, weight: weight,
            distillationWeight: distillationWeight, ctrDistillationWeight: ctrDistillationWeight,
            visible: visibleFractions(data, rows: batch))
    }

    /// With a delay tower: F(e) of each row of the last forward pass (1 for conversions and elapsed windows).
    func visibleFractions(_ data: EncodedRows, rows batch: [Int]) -> [Double]? {
        delayTrace.map { schema.delay.visibleFractions(UnsafePointer($0.output), data, rows: batch) }
    }
}
