import Ranking

/// The student's losses for one batch: forward values and ∂L/∂logits written into the network's logit
/// gradients. Reductions are means over the batch's N impressions unless stated (docs/MODELS.md §3,
/// §4.2, §6).
struct StudentObjective {
    let configuration: LossConfiguration
    let delay: DelayBuckets

    /// `propensities` overrides the IPS propensity (tests hold it fixed, as the detached p_c is, to compare
    /// with finite differences); by default it is the teacher's p_c (ESDC) or the student's own. `totals`: the
    /// global batch's sums under MPI (`BatchTotals`); by default this batch's.
    func apply(
        _ network: MultiTaskNetwork, _ data: EncodedRows, rows batch: [Int], teacher: TeacherSignals? = nil,
        propensities: [Double]? = nil, totals global: BatchTotals? = nil
    ) -> LossBreakdown {
        var breakdown = LossBreakdown()
        let totals = global ?? BatchTotals(self, data, rows: batch, teacher: teacher)
        let n = totals.rows
        let sc = network.logits(.ctr), sv = network.logits(.cvr)
        let dc = network.logitGradient(.ctr), dv = network.logitGradient(.cvr)
        dc.update(repeating: 0, count: batch.count)
        dv.update(repeating: 0, count: batch.count)
        let dHazards = network.delayLogitGradient
        let buckets = delay.count
        if let dHazards { dHazards.update(repeating: 0, count: batch.count * buckets) }

        // CTR: BCE(y, p_c) over all rows; ESDC weights purchases by 1 + α z, renormalised over the batch's clicks
        // so that the clicks' total weight is unchanged: (1 + α z)/(1 + α z̄), z̄ = the batch's conversions per
        // click. Plain 1 + α z (docs/MODELS.md §6) adds α·z̄ ≈ 12% of click mass and inflates pCTR by as much (observed CTR
        // PCOC 1.15); renormalised, converting items still get a higher pCTR than non-converting ones but the
        // average is calibrated.
        let alpha = configuration.model == .esdc ? configuration.purchaseWeight : 0
        let clickNormaliser = totals.clicks > 0 ? 1 + alpha * totals.conversions / totals.clicks : 1
        func ctrWeight(_ row: Int) -> Double {
            data.click[row] == 1 ? (1 + alpha * Double(data.conversion[row])) / clickNormaliser : 1
        }
        // Σ of the weights is the batch's rows (the clicks' total weight is unchanged); a global batch takes that.
        var ctrWeightSum = global == nil ? 0.0 : n
        if global == nil { for row in batch { ctrWeightSum += ctrWeight(row) } }
        var ctrLoss = 0.0
        for (r, row) in batch.enumerated() {
            let w = ctrWeight(row) / ctrWeightSum
            let s = Double(sc[r]), y = Double(data.click[row])
            ctrLoss += w * BinaryCrossEntropy.loss(logit: s, target: y)
            dc[r] += Float(w * BinaryCrossEntropy.gradient(logit: s, target: y))
        }
        breakdown.add("ctr", ctrLoss)

        switch configuration.model {
        case .naive:
            break  // p_v comes from the separate CVR network (`applyStandaloneCVR`); this network learns CTR only
        case .naiveShared:
            // CVR on clicked rows only, mean over the clicks that get a term: the biased baseline. With delay
            // modelling, the newest unconverted clicks use the DFM likelihood (which also trains the hazards).
            let clicked = batch.indices.filter { selectedForClickedCVR(data, batch[$0]) }
            breakdown.add(
                "cvr_clicked", clickedCVRTerm(network, data, batch, positions: clicked, of: totals.clickedCVRRows))
        case .esmm, .escm2IPS, .esdc:
            breakdown.add(
                "ctcvr", entireSpaceTerm(network, data, batch, weight: configuration.ctcvrWeight / n, teacher: teacher))
        }

        if configuration.model == .escm2IPS || configuration.model == .esdc {
            // IPS: (1/N) Σ_{clicked, hard label} w_i BCE(z, p_v), w_i = min(1/p_c, w_max), p_c detached
            // (the teacher's p_c for the ESDC student).
            let lambda = configuration.ipsWeight * (1 - (teacher?.distillationWeight ?? 0))
            var loss = 0.0
            for (r, row) in batch.enumerated() where data.click[row] == 1 {
                let propensity = propensities?[r] ?? teacher.map { $0.ctr[r] } ?? LogisticMath.sigmoid(Double(sc[r]))
                let w = configuration.inversePropensity(propensity) * lambda / n
                guard
                    let term = clickSpaceTerm(
                        network, data, r: r, row: row, logit: Double(sv[r]), weight: w, teacher: teacher)
                else {
                    continue
                }
                loss += term.loss
                dv[r] += Float(term.dLogit)
            }
            breakdown.add("ips", loss)
        }

        if let teacher {
            // KD-CVR: λ Σ w BCE(q, p_v) / Σ w over the distilled rows (all, or the clicks); KD-CTR: λ_ctr mean
            // BCE(q_ctr, p_c).
            let distilled =
                configuration.distillationSpace == .all
                ? Array(batch.indices) : batch.indices.filter { data.click[batch[$0]] == 1 }
            let total = totals.distilledWeight
            var cvrLoss = 0.0, ctrLoss = 0.0
            if teacher.distillationWeight > 0, total > 0 {
                for r in distilled {
                    let w = teacher.distillationWeight * teacher.weight[r] / total
                    cvrLoss += w * BinaryCrossEntropy.loss(logit: Double(sv[r]), target: teacher.cvr[r])
                    dv[r] += Float(w * BinaryCrossEntropy.gradient(logit: Double(sv[r]), target: teacher.cvr[r]))
                }
            }
            if teacher.ctrDistillationWeight > 0 {
                for r in batch.indices {
                    let w = teacher.ctrDistillationWeight / n
                    ctrLoss += w * BinaryCrossEntropy.loss(logit: Double(sc[r]), target: teacher.ctr[r])
                    dc[r] += Float(w * BinaryCrossEntropy.gradient(logit: Double(sc[r]), target: teacher.ctr[r]))
                }
            }
            breakdown.add("kd_cvr", cvrLoss)
            breakdown.add("kd_ctr", ctrLoss)
        }
        return breakdown
    }

    /// Whether row `row` gets a clicked-only CVR term (naive models): a click, and under mature-only one whose
    /// attribution window has elapsed (selected by the click time, never by the outcome).
    func selectedForClickedCVR(_ data: EncodedRows, _ row: Int) -> Bool {
        data.click[row] == 1
            && (configuration.delay != .matureOnly || data.windowElapsed(row, window: delay.attributionWindowHours))
    }

    /// Mean over the batch positions `positions` (clicked rows; `count` of them in the global batch, by default
    /// these) of the click-space CVR term of the network's CVR logit; adds ∂L/∂s_v (and the hazards' gradient) into
    /// the network's gradients.
    func clickedCVRTerm(
        _ network: MultiTaskNetwork, _ data: EncodedRows, _ batch: [Int], positions: [Int], of count: Double? = nil
    ) -> Double {
        let sv = network.logits(.cvr), dv = network.logitGradient(.cvr)
        var loss = 0.0
        for r in positions {
            let row = batch[r]
            let w = 1 / (count ?? Double(positions.count))
            guard
                let term = clickSpaceTerm(network, data, r: r, row: row, logit: Double(sv[r]), weight: w, teacher: nil)
            else { continue }
            loss += term.loss
            dv[r] += Float(term.dLogit)
        }
        return loss
    }

    /// The standalone CVR network of `naive` (the ESMM paper's BASE): `batch` holds only the rows selected by
    /// `selectedForClickedCVR`; its CVR logit gets their mean click-space term (its own delay tower under
    /// `--delay model`), its CTR logit no gradient (that tower is never used).
    func applyStandaloneCVR(_ network: MultiTaskNetwork, _ data: EncodedRows, rows batch: [Int]) -> LossBreakdown {
        network.logitGradient(.ctr).update(repeating: 0, count: batch.count)
        network.logitGradient(.cvr).update(repeating: 0, count: batch.count)
        if let dHazards = network.delayLogitGradient { dHazards.update(repeating: 0, count: batch.count * delay.count) }
        var breakdown = LossBreakdown()
        breakdown.add("cvr_clicked", clickedCVRTerm(network, data, batch, positions: Array(batch.indices)))
        return breakdown
    }

    /// A separate CTR network (`ctr_network: separate`): its CTR logit gets the mean click BCE over the batch's rows
    /// (`rows` of them in the global batch, by default these): `naive`'s CTR term. Its CVR logit gets no gradient
    /// (that tower is never served).
    func applyStandaloneCTR(_ network: MultiTaskNetwork, _ data: EncodedRows, rows batch: [Int], of rows: Double? = nil)
        -> LossBreakdown
    {
        let sc = network.logits(.ctr), dc = network.logitGradient(.ctr)
        network.logitGradient(.cvr).update(repeating: 0, count: batch.count)
        let n = rows ?? Double(batch.count)
        var loss = 0.0
        for (r, row) in batch.enumerated() {
            let s = Double(sc[r]), y = Double(data.click[row])
            loss += BinaryCrossEntropy.loss(logit: s, target: y) / n
            dc[r] = Float(BinaryCrossEntropy.gradient(logit: s, target: y) / n)
        }
        var breakdown = LossBreakdown()
        breakdown.add("ctr_network", loss)
        return breakdown
    }

    /// The click-space conversion term of clicked row `row` (batch position `r`), see `ClickSpaceLikelihood`:
    /// F(e) from the network's own delay tower, else the teacher's.
    func clickSpaceTerm(
        _ network: MultiTaskNetwork, _ data: EncodedRows, r: Int, row: Int, logit: Double, weight: Double,
        teacher: TeacherSignals?
    ) -> ClickSpaceLikelihood.Result? {
        var visible = ClickSpaceLikelihood.Visible.none
        if let hazards = network.delayLogits {
            visible = .hazards(
                UnsafePointer(hazards + r * delay.count),
                gradient: network.delayLogitGradient.map { $0 + r * delay.count })
        } else if let teacherVisible = teacher?.visible {
            visible = .fixed(teacherVisible[r])
        }
        return ClickSpaceLikelihood.evaluate(
            logit: logit, converted: data.conversion[row] == 1, delayBucket: Int(data.delayBucket[row]),
            elapsedHours: Double(data.elapsedHours[row]), delay: configuration.delay,
            buckets: delay, weight: weight, visible: visible)
    }

    /// The CTCVR term over all rows, scaled by `weight` (λ_g / N): ESMM's product likelihood with the delay rules of
    /// `EntireSpaceLikelihood`; F(e) from the network's own delay tower, else the teacher's.
    func entireSpaceTerm(
        _ network: MultiTaskNetwork, _ data: EncodedRows, _ batch: [Int], weight: Double, teacher: TeacherSignals? = nil
    ) -> Double {
        let sc = network.logits(.ctr), sv = network.logits(.cvr)
        let dc = network.logitGradient(.ctr), dv = network.logitGradient(.cvr)
        let buckets = delay.count
        var loss = 0.0
        for (r, row) in batch.enumerated() {
            var visible = ClickSpaceLikelihood.Visible.none
            if configuration.delay == .model, let hazards = network.delayLogits,
                let dHazards = network.delayLogitGradient
            {
                visible = .hazards(UnsafePointer(hazards + r * buckets), gradient: dHazards + r * buckets)
            } else if let teacherVisible = teacher?.visible {
                visible = .fixed(teacherVisible[r])
            }
            guard
                let term = EntireSpaceLikelihood.evaluate(
                    logitCTR: Double(sc[r]), logitCVR: Double(sv[r]),
                    label: .init(data, row: row, delay: configuration.delay, window: delay.attributionWindowHours),
                    clicked: data.click[row] == 1, converted: data.conversion[row] == 1,
                    delayBucket: Int(data.delayBucket[row]), buckets: delay, visible: visible, weight: weight)
            else { continue }
            loss += term.loss
            dc[r] += Float(term.dLogitCTR)
            dv[r] += Float(term.dLogitCVR)
        }
        return loss
    }
}
