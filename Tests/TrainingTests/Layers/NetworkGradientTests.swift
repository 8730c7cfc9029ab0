import Foundation
import Ranking
import Testing

@testable import Training

/// Whole-network backward passes (student with each loss, every bottom; the ESDC teacher) against central
/// differences, tensor by tensor (`TensorChecks`).
struct NetworkGradientTests {
    /// 64 rows with dense labels: clicks, conversions with delays, immature unconverted clicks.
    static func makeData() -> EncodedRows {
        try! TrainingDataReader.readAll(path: makeFile(), schema: TestSupport.schema)
    }

    /// The CSV behind `makeData` (a new temporary file). With `impressionTimes`, a last column `t_imp` dates every
    /// impression, so unclicked rows have an elapsed time too (`impressionSchema` reads it).
    static func makeFile(impressionTimes: Bool = false) -> String {
        var random = SplitMix64(seed: 11)
        var lines = [TestSupport.header + (impressionTimes ? ",t_imp" : "")]
        for i in 0..<64 {
            let clicked = random.nextUnit() < 0.6
            let converted = clicked && random.nextUnit() < 0.45
            let clickTime = 100 - random.uniform(0, 80)
            let conversionTime = converted ? min(clickTime + random.uniform(0, 30), 99.9) : nil
            let tags = (0..<Int(random.next() % 3)).map { "t\($0 + i % 5):\(1 + i % 3)" }.joined(separator: "|")
            lines.append(
                "r\(i / 4),u\(i % 9),\(tags),\(i % 24),i\(i % 13),\(random.uniform(1, 300)),\(clicked ? String(random.uniform(1, 90)) : ""),"
                    + "\(clicked ? 1 : 0),\(converted ? 1 : 0),\(clicked ? String(clickTime) : ""),"
                    + "\(conversionTime.map { String($0) } ?? ""),100"
                    + (impressionTimes ? ",\(min(clickTime, 99 - Double(i % 8) * 5))" : ""))
        }
        let path = TestSupport.temporaryDirectory("gradients") + "/data.csv"
        try! TestSupport.write(lines.joined(separator: "\n"), to: path)
        return path
    }

    static let cases: [(LossConfiguration.Model, LossConfiguration.DelayHandling, NetworkSpec)] = [
        (.naiveShared, .ignore, .sharedBottom(layers: [7, 5], towerLayers: [4])),
        // `naive`'s CTR network (CTR only; its CVR network is checked by `standaloneCVRBackward`).
        (.naive, .ignore, .ple(levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [6], towerLayers: [3])),
        (.esmm, .ignore, .mmoe(experts: 3, expertLayers: [6], towerLayers: [3])),
        (
            .escm2IPS, .matureOnly,
            .ple(levels: 1, sharedExperts: 2, specificExperts: 1, expertLayers: [6, 5], towerLayers: [4])
        ),
        (.esmm, .model, .ple(levels: 2, sharedExperts: 1, specificExperts: 2, expertLayers: [6, 4], towerLayers: [])),
        // The click-space DFM likelihood (ClickSpaceLikelihood) with the network's own hazards.
        (.naiveShared, .model, .sharedBottom(layers: [6], towerLayers: [3])),
        (.escm2IPS, .model, .mmoe(experts: 2, expertLayers: [5], towerLayers: [3])),
    ]
    static let caseIndices = Array(cases.indices)

    static let impressionSchema = with(TestSupport.schema) { $0.labels.impressionTime = "t_imp" }

    /// Runs the student's backward pass on `rows` and returns the loss as a function of the current weights, for
    /// finite differences. The IPS propensity is detached: it is held at the unperturbed p_c, as the analytic
    /// gradient does.
    static func backward(
        _ student: MultiTaskNetwork, _ objective: StudentObjective, _ data: EncodedRows, rows: [Int]
    ) -> () -> Double {
        student.forward(data, rows: rows)
        let propensities = rows.map { LogisticMath.sigmoid(Double(student.logits(.ctr)[$0])) }
        func loss() -> Double {
            student.forward(data, rows: rows)
            return objective.apply(student, data, rows: rows, propensities: propensities).total
        }
        student.zeroGradients()
        _ = loss()
        student.backward(data)
        return loss
    }

    @Test(arguments: caseIndices)
    func studentBackward(index: Int) {
        let (model, delay, network) = Self.cases[index]
        let data = Self.makeData()
        let rows = Array(0..<data.count)
        let schema = TestSupport.schema
        let shape = NetworkShape(features: schema.features, network: network)
        let student = MultiTaskNetwork(
            shape: shape, capacity: 64, delayBuckets: delay == .model ? schema.delay.count : nil, delayHidden: 5,
            seed: 3)
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = model
                $0.delay = delay
            }, delay: schema.delay)
        let loss = Self.backward(student, objective, data, rows: rows)
        TensorChecks(tables: student.tables, dense: student.denseParameters, refresh: student.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "\(model) \(delay)")
    }

    /// Entire-space models under `--delay model` read F(e) for unclicked impressions too (P(z = 0) = 1 − π·F(e) from
    /// the impression time): their rows must reach the hazards with the right gradient.
    @Test(arguments: [LossConfiguration.Model.esmm, .escm2IPS])
    func unclickedImmatureRowsReadTheirDelayTower(model: LossConfiguration.Model) throws {
        let schema = Self.impressionSchema
        let data = try TrainingDataReader.readAll(path: Self.makeFile(impressionTimes: true), schema: schema)
        let rows = Array(0..<data.count)
        let censoredUnclicked = rows.filter { row in
            data.click[row] == 0
                && EntireSpaceLikelihood.Label(
                    data, row: row, delay: .model, window: schema.delay.attributionWindowHours) != .final
        }
        #expect(censoredUnclicked.count >= 10, "the file has immature unclicked rows")
        let shape = NetworkShape(
            features: schema.features, network: .mmoe(experts: 2, expertLayers: [5], towerLayers: [3]))
        let student = MultiTaskNetwork(
            shape: shape, capacity: 64, delayBuckets: schema.delay.count, delayHidden: 5, seed: 4)
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = model
                $0.delay = .model
            }, delay: schema.delay)
        let loss = Self.backward(student, objective, data, rows: rows)
        TensorChecks(tables: student.tables, dense: student.denseParameters, refresh: student.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "\(model) with impression times")
        // Only the unclicked immature rows: their F(e) alone moves the hazards.
        let unclickedOnly = Self.backward(student, objective, data, rows: censoredUnclicked)
        let hazards = student.denseParameters.filter { $0.name.hasPrefix("aux.delay") }
        #expect(
            hazards.contains { parameter in (0..<parameter.count).contains { parameter.gradient.pointer[$0] != 0 } })
        TensorChecks(tables: [], dense: hazards, refresh: student.refresh, loss: unclickedOnly)
            .expectAccurate(within: 2e-2, "\(model) delay tower on unclicked rows")
    }

    /// The wide part: every coordinate (CTR and CVR column) of every touched row of every wide table, each table
    /// against its own tolerance, under the entire-space and delay losses.
    @Test(arguments: [LossConfiguration.Model.esmm, .escm2IPS])
    func wideBackward(model: LossConfiguration.Model) {
        let data = Self.makeData()
        let rows = Array(0..<data.count)
        let schema = TestSupport.schema
        var network = NetworkSpec.ple(
            levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [6], towerLayers: [3])
        network.wide = true
        let student = MultiTaskNetwork(
            shape: NetworkShape(features: schema.features, network: network), capacity: 64,
            delayBuckets: schema.delay.count, delayHidden: 5, seed: 12)
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = model
                $0.delay = .model
            }, delay: schema.delay)
        let loss = Self.backward(student, objective, data, rows: rows)
        let wideTables = student.tables.filter { $0.name.hasPrefix("wide.") }
        // user, tags, hour, item: the schema's serving table fields (price is continuous, dwell privileged).
        #expect(wideTables.map(\.name) == ["wide.user", "wide.tags", "wide.hour", "wide.item"])
        for table in wideTables {
            var check = GradientCheck()
            for row in table.touchedRows {
                for column in 0..<2 {
                    let i = Int(row) * 2 + column
                    check.check(table.value.pointer, i, analytic: Double(table.gradient.pointer[i]), loss: loss)
                }
            }
            #expect(check.isNonTrivial)
            #expect(check.relativeError < 2e-2, "\(table.name): relative error \(check.relativeError)")
        }
    }

    /// The cross layers: every coordinate of every cross weight and bias, and of the first two touched rows of every
    /// embedding table (their gradient now passes back through the cross layers), each tensor against its own
    /// tolerance.
    @Test func crossBackward() {
        let data = Self.makeData()
        let rows = Array(0..<data.count)
        let schema = TestSupport.schema
        var network = NetworkSpec.mmoe(experts: 2, expertLayers: [6], towerLayers: [3])
        network.crossLayers = 2
        let student = MultiTaskNetwork(
            shape: NetworkShape(features: schema.features, network: network), capacity: 64,
            delayBuckets: schema.delay.count, delayHidden: 5, seed: 21)
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = .escm2IPS
                $0.delay = .model
            }, delay: schema.delay)
        let loss = Self.backward(student, objective, data, rows: rows)
        let crossParameters = student.denseParameters.filter { $0.name.hasPrefix("cross.") }
        #expect(crossParameters.map(\.name) == ["cross.0.weight", "cross.0.bias", "cross.1.weight", "cross.1.bias"])
        for parameter in crossParameters {
            var check = GradientCheck()
            for i in 0..<parameter.count {
                check.check(
                    parameter.value.pointer, i, analytic: Double(parameter.gradient.pointer[i]),
                    refresh: student.refresh, loss: loss)
            }
            #expect(check.isNonTrivial)
            #expect(check.relativeError < 2e-2, "\(parameter.name): relative error \(check.relativeError)")
        }
        for table in student.tables {
            var check = GradientCheck()
            for row in table.touchedRows.prefix(2) {
                for column in 0..<table.dimension {
                    let i = Int(row) * table.dimension + column
                    check.check(table.value.pointer, i, analytic: Double(table.gradient.pointer[i]), loss: loss)
                }
            }
            #expect(check.isNonTrivial)
            #expect(check.relativeError < 2e-2, "\(table.name): relative error \(check.relativeError)")
        }
    }

    static let standaloneDelays: [LossConfiguration.DelayHandling] = [.ignore, .matureOnly, .model]

    /// `naive`'s standalone CVR network: the mean click-space term over the clicked rows it is given (with its
    /// own delay tower under `model`), nothing from its CTR logit.
    @Test(arguments: standaloneDelays)
    func standaloneCVRBackward(delay: LossConfiguration.DelayHandling) {
        let data = Self.makeData()
        let schema = TestSupport.schema
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = .naive
                $0.delay = delay
            }, delay: schema.delay)
        let rows = (0..<data.count).filter { objective.selectedForClickedCVR(data, $0) }
        #expect(rows.count > 10 && rows.count < data.count)
        let network = MultiTaskNetwork(
            shape: NetworkShape(
                features: schema.features,
                network: .ple(levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [6, 5], towerLayers: [3])),
            capacity: 64, delayBuckets: delay == .model ? schema.delay.count : nil, delayHidden: 5, seed: 8)
        func loss() -> Double {
            network.forward(data, rows: rows)
            return objective.applyStandaloneCVR(network, data, rows: rows).total
        }
        network.zeroGradients()
        #expect(loss() > 0)
        network.backward(data)
        // Only the clicked rows' embedding rows are touched (an unclicked row's ids are not updated, not decayed).
        let touched = Set(network.tables.first { $0.name == NetworkShape.embedding("item") }!.touchedRows.map(Int.init))
        let clickedItems = Set(rows.map { Int(data.slots(.item, row: $0).indices[0]) })
        #expect(touched == clickedItems)
        TensorChecks(tables: network.tables, dense: network.denseParameters, refresh: network.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "\(delay)")
        // Its CTR tower never gets a gradient.
        let ctrLogit = network.denseParameters.first { $0.name == NetworkShape.towerLogit(.ctr) + ".weight" }
        #expect(ctrLogit.map { p in (0..<p.count).allSatisfy { p.gradient.pointer[$0] == 0 } } ?? true)
    }

    /// The separate CTR network (`ctr_network: separate`): the mean click BCE over every row it is given, divided by
    /// the global batch's rows, nothing from its CVR logit.
    @Test(arguments: [nil, 128.0])
    func standaloneCTRBackward(globalRows: Double?) {
        let data = Self.makeData()
        let schema = TestSupport.schema
        let objective = StudentObjective(configuration: LossConfiguration(), delay: schema.delay)
        let rows = Array(0..<data.count)
        let network = MultiTaskNetwork(
            shape: NetworkShape(
                features: schema.features,
                network: .ple(levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [6, 5], towerLayers: [3])),
            capacity: 64, delayBuckets: nil, delayHidden: 5, seed: 9)
        func loss() -> Double {
            network.forward(data, rows: rows)
            return objective.applyStandaloneCTR(network, data, rows: rows, of: globalRows).total
        }
        network.zeroGradients()
        let value = loss()
        // The mean BCE of the click labels, scaled to the global batch.
        var expected = 0.0
        for r in rows {
            expected += BinaryCrossEntropy.loss(logit: Double(network.logits(.ctr)[r]), target: Double(data.click[r]))
        }
        #expect(abs(value - expected / (globalRows ?? Double(rows.count))) < 1e-9)
        network.backward(data)
        TensorChecks(tables: network.tables, dense: network.denseParameters, refresh: network.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "global rows \(globalRows ?? 0)")
        let cvrLogit = network.denseParameters.first { $0.name == NetworkShape.towerLogit(.cvr) + ".weight" }!
        #expect((0..<cvrLogit.count).allSatisfy { cvrLogit.gradient.pointer[$0] == 0 })
    }

    /// The ESDC student as the trainer builds it (no delay tower): distillation on clicked or on all rows, with
    /// delays handled by maturity or, under `--delay model`, by the teacher's detached F(e), which then weighs
    /// every immature unconverted row's CTCVR term, clicked or not.
    @Test(
        arguments: LossConfiguration.DistillationSpace.allCases, [LossConfiguration.DelayHandling.matureOnly, .model])
    func studentDistillationBackward(space: LossConfiguration.DistillationSpace, delay: LossConfiguration.DelayHandling)
    {
        let data = Self.makeData()
        let rows = Array(0..<data.count)
        let schema = TestSupport.schema
        let student = MultiTaskNetwork(
            shape: NetworkShape(features: schema.features, network: .sharedBottom(layers: [6], towerLayers: [4])),
            capacity: 64, seed: 5)
        let objective = StudentObjective(
            configuration: with(LossConfiguration()) {
                $0.model = .esdc
                $0.delay = delay
                $0.distillationSpace = space
            }, delay: schema.delay)
        var values = SplitMix64(seed: 9)
        var signals = TeacherSignals(
            ctr: rows.map { _ in values.uniform(0.05, 0.9) }, cvr: rows.map { _ in values.uniform(0.01, 0.6) },
            weight: rows.map { _ in values.uniform(0.05, 1) }, distillationWeight: 0.5, ctrDistillationWeight: 0.25)
        if delay == .model { signals.visible = rows.map { _ in values.uniform(0.1, 1) } }
        func loss() -> Double {
            student.forward(data, rows: rows)
            return objective.apply(student, data, rows: rows, teacher: signals).total
        }
        student.zeroGradients()
        let breakdown: LossBreakdown = {
            student.forward(data, rows: rows)
            return objective.apply(student, data, rows: rows, teacher: signals)
        }()
        #expect(breakdown.terms["kd_cvr"]! > 0 && breakdown.terms["kd_ctr"]! > 0 && breakdown.terms["ips"]! > 0)
        student.backward(data)
        TensorChecks(tables: student.tables, dense: student.denseParameters, refresh: student.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "\(space) \(delay)")
        // Soft labels of unclicked rows count only when distilling on every row.
        let kdCVR = breakdown.terms["kd_cvr"]!
        for r in rows where data.click[r] == 0 { signals.cvr[r] = 0.99 }
        student.forward(data, rows: rows)
        let changed = objective.apply(student, data, rows: rows, teacher: signals).terms["kd_cvr"]!
        #expect(space == .all ? changed != kdCVR : changed == kdCVR)
    }

    static let teacherDelays: [LossConfiguration.DelayHandling] = [.model, .matureOnly]

    /// The ESDC teacher under each delay handling, with its privileged residual and without it (then the
    /// click-space logit is the base tower's alone).
    @Test(arguments: teacherDelays, [true, false])
    func teacherBackward(delay: LossConfiguration.DelayHandling, privileged: Bool) {
        let data = Self.makeData()
        let rows = Array(0..<data.count)
        let losses = with(LossConfiguration()) {
            $0.model = .esdc
            $0.delay = delay
            $0.dropout = 0.2
            $0.privilegedFeatures = privileged
        }
        let teacher = ESDCTeacher(
            schema: TestSupport.schema,
            network: .ple(levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [6], towerLayers: [4]),
            losses: losses,
            capacity: 64, delayHidden: 5, seed: 4)
        #expect((teacher.residual != nil) == privileged)
        teacher.random = SplitMix64(seed: 77)
        teacher.forward(data, rows: rows, training: true)
        let propensities = teacher.logitCTR.map { LogisticMath.sigmoid($0) }  // detached in the analytic gradient
        let base = teacher.logitBase  // s_g inside s_v⁺ = sg(s_g) + r is detached too
        func loss() -> Double {
            teacher.random = SplitMix64(seed: 77)  // identical dropout masks in every pass
            teacher.forward(data, rows: rows, training: true)
            return teacher.applyLoss(data, rows: rows, propensities: propensities, detachedBase: base).total
        }
        teacher.zeroGradients()
        let terms: LossBreakdown = {
            teacher.random = SplitMix64(seed: 77)
            teacher.forward(data, rows: rows, training: true)
            return teacher.applyLoss(data, rows: rows, propensities: propensities, detachedBase: base)
        }()
        #expect(terms.terms["twin"]! > 0 && terms.terms["ips"]! > 0)
        teacher.backward(data)
        TensorChecks(tables: teacher.tables, dense: teacher.denseParameters, refresh: teacher.refresh, loss: loss)
            .expectAccurate(within: 2e-2, "\(delay) privileged \(privileged)")
        // Soft labels are probabilities and the weights lie in [0.05, 1].
        let signals = teacher.signals(data, rows: rows, distillationWeight: 0.5, ctrDistillationWeight: 0.25)
        #expect(signals.cvr.allSatisfy { $0 > 0 && $0 < 1 } && signals.weight.allSatisfy { $0 >= 0.05 && $0 <= 1 })
    }
}
