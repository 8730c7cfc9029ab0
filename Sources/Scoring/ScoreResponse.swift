import HTTP2
import Ranking

/// `{"model": {"name", "version"}, "results": [{"id", "pctr", "pcvr", "pctcvr", "score"}]}`: in request order,
/// or the `top_k` best by score, best first (ties keep request order).
struct ScoreResponse: Sendable {
    struct Result: Sendable {
        let id: String
        let prediction: Prediction
        let score: Double
    }

    let model: ServableModel
    let results: [Result]

    init(model: ServableModel, results: [Result], topK: Int?) {
        self.model = model
        if let topK {
            let ranked = results.enumerated().sorted {
                $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset
            }
            self.results = ranked.prefix(topK).map(\.element)
        } else {
            self.results = results
        }
    }

    func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + results.count * 110)
        writer.raw("{\"model\":{\"name\":")
        writer.string(model.name)
        writer.raw(",\"version\":")
        writer.number(model.version)
        writer.raw("},\"results\":[")
        for (index, result) in results.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"id\":")
            writer.string(result.id)
            writer.raw(",\"pctr\":")
            writer.number(result.prediction.ctr)
            writer.raw(",\"pcvr\":")
            writer.number(result.prediction.cvr)
            writer.raw(",\"pctcvr\":")
            writer.number(result.prediction.ctcvr)
            writer.raw(",\"score\":")
            writer.number(result.score)
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}
