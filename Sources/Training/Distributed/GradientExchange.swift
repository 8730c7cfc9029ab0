import Ranking

/// Makes every replica's gradients the sum over the ranks of each rank's gradient times its `share`, so that every
/// replica applies the identical optimizer step. Dense gradients are allreduced in one packed buffer; embedding
/// gradients travel sparsely, as (row, gradient) pairs of the rows each rank touched, which every rank adds up in
/// rank order (the same order everywhere: the replicas stay bit-identical).
struct GradientExchange {
    let communicator: any Communicator

    /// `share`: this rank's rows over the step's rows on every rank, so that means over a rank's rows become means
    /// over the global batch. A world of one leaves the gradients as they are.
    func synchronize(dense: [Parameter], tables: [EmbeddingTable], share: Float) {
        guard communicator.size > 1 else { return }
        sumDense(dense, share: share)
        sumSparse(tables, share: share)
    }

    private func sumDense(_ parameters: [Parameter], share: Float) {
        var packed = [Float](repeating: 0, count: parameters.reduce(0) { $0 + $1.count })
        var offset = 0
        for p in parameters {
            for i in 0..<p.count { packed[offset + i] = share * p.gradient.pointer[i] }
            offset += p.count
        }
        packed.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        offset = 0
        for p in parameters {
            for i in 0..<p.count { p.gradient.pointer[i] = packed[offset + i] }
            offset += p.count
        }
    }

    /// Per table, in table order: the count of touched rows, then the rows (one Int32 buffer); their gradients
    /// (one Float buffer).
    private func sumSparse(_ tables: [EmbeddingTable], share: Float) {
        var rows: [Int32] = []
        var gradients: [Float] = []
        for table in tables {
            rows.append(Int32(table.touchedRows.count))
            rows += table.touchedRows
            for row in table.touchedRows {
                let g = table.gradient.pointer + Int(row) * table.dimension
                for j in 0..<table.dimension { gradients.append(share * g[j]) }
            }
        }
        let allRows = communicator.allgatherv(rows), allGradients = communicator.allgatherv(gradients)
        for table in tables { table.zeroGradient() }
        for (rankRows, rankGradients) in zip(allRows, allGradients) {
            Self.add(rows: rankRows, gradients: rankGradients, into: tables)
        }
    }

    /// Adds one rank's packed pairs into the tables' gradients (marking the rows touched, so the lazy optimizer
    /// updates every row some rank touched).
    static func add(rows: [Int32], gradients: [Float], into tables: [EmbeddingTable]) {
        var r = 0, g = 0
        gradients.withUnsafeBufferPointer { values in
            for table in tables {
                let count = Int(rows[r])
                r += 1
                for row in rows[r..<r + count] {
                    table.accumulate(row: Int(row), weight: 1, values.baseAddress! + g)
                    g += table.dimension
                }
                r += count
            }
        }
        precondition(r == rows.count && g == gradients.count, "sparse gradients do not match the tables")
    }
}
