#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small x–y chart drawn as inline SVG (no script, no external resource): axes with ticks and grid lines,
/// then lines, markers and bars in data coordinates. Values outside an axis' range are clamped to its edge.
struct SVGChart {
    struct Axis {
        var label: String
        var range: ClosedRange<Double>
        var ticks: [(value: Double, text: String)]

        /// About five round ticks (1, 2 or 5 × 10ⁿ apart) over `range`.
        static func linear(_ label: String, _ range: ClosedRange<Double>, digits: Int? = nil) -> Axis {
            let span = range.upperBound - range.lowerBound
            guard span > 0 else { return Axis(label: label, range: range, ticks: [(range.lowerBound, "\(range)")]) }
            let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            let shown = digits ?? max(0, -Int(floor(log10(step))))
            var ticks: [(Double, String)] = []
            var value = (range.lowerBound / step).rounded(.up) * step
            while value <= range.upperBound + step * 1e-9 {
                ticks.append((value, String.fixed(value, digits: shown)))
                value += step
            }
            return Axis(label: label, range: range, ticks: ticks)
        }

        /// [0, a round number ≥ `largest`]: 1, 2, 2.5 or 5 × 10ⁿ.
        static func roundedUp(_ largest: Double) -> Double {
            guard largest > 0, largest.isFinite else { return 1 }
            let magnitude = pow(10, floor(log10(largest)))
            return ([1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= largest * (1 - 1e-12) }) ?? largest
        }
    }

    let title: String
    let x: Axis
    let y: Axis
    var width = 420.0
    var height = 300.0
    private var marks: [String] = []
    private var legend: [(text: String, colour: String, dashed: Bool)] = []
    /// Where the legend goes: top left by default, bottom right where the curves rise to the top left (ROC).
    var legendAtBottomRight = false

    private let left = 58.0, right = 14.0, top = 14.0, bottom = 44.0

    init(title: String, x: Axis, y: Axis, width: Double = 420, height: Double = 300) {
        self.title = title
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    private func px(_ value: Double) -> Double {
        let (low, high) = (x.range.lowerBound, x.range.upperBound)
        let t = high > low ? (min(max(value, low), high) - low) / (high - low) : 0.5
        return left + t * (width - left - right)
    }

    private func py(_ value: Double) -> Double {
        let (low, high) = (y.range.lowerBound, y.range.upperBound)
        let t = high > low ? (min(max(value, low), high) - low) / (high - low) : 0.5
        return height - bottom - t * (height - top - bottom)
    }

    private static func coordinate(_ value: Double) -> String { String.fixed(value, digits: 1) }

    /// A polyline through `points`; named lines appear in the legend.
    mutating func line(
        _ points: [(x: Double, y: Double)], colour: String, name: String? = nil, dashed: Bool = false,
        lineWidth: Double = 2
    ) {
        guard points.count >= 2 else { return }
        let path = points.map { Self.coordinate(px($0.x)) + "," + Self.coordinate(py($0.y)) }.joined(separator: " ")
        let dash = dashed ? " stroke-dasharray=\"5 4\"" : ""
        marks.append(
            "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(lineWidth)\"\(dash) "
                + "points=\"\(path)\"/>")
        if let name { legend.append((name, colour, dashed)) }
    }

    /// Circles of the given radii (pixels) with a tooltip each.
    mutating func markers(_ points: [(x: Double, y: Double, radius: Double, tip: String)], colour: String) {
        for point in points {
            marks.append(
                "<circle cx=\"\(Self.coordinate(px(point.x)))\" cy=\"\(Self.coordinate(py(point.y)))\" "
                    + "r=\"\(String.fixed(point.radius, digits: 1))\" fill=\"\(colour)\" fill-opacity=\"0.6\" "
                    + "stroke=\"\(colour)\"><title>\(HTML.escape(point.tip))</title></circle>")
        }
    }

    /// Vertical bars from `base` to each value, centred on x, `barWidth` in x units, with a tooltip each.
    mutating func bars(
        _ values: [(x: Double, value: Double, tip: String)], barWidth: Double, base: Double = 0, colour: String
    ) {
        for bar in values {
            let x0 = px(bar.x - barWidth / 2), x1 = px(bar.x + barWidth / 2)
            let y0 = py(max(bar.value, base)), y1 = py(min(bar.value, base))
            marks.append(
                "<rect x=\"\(Self.coordinate(x0))\" y=\"\(Self.coordinate(y0))\" "
                    + "width=\"\(Self.coordinate(max(x1 - x0, 1)))\" height=\"\(Self.coordinate(max(y1 - y0, 1)))\" "
                    + "fill=\"\(colour)\" fill-opacity=\"0.75\"><title>\(HTML.escape(bar.tip))</title></rect>")
        }
    }

    /// A horizontal reference line across the plot at `value`.
    mutating func reference(y value: Double, text: String) {
        let level = Self.coordinate(py(value))
        marks.append(
            "<line x1=\"\(Self.coordinate(left))\" x2=\"\(Self.coordinate(width - right))\" y1=\"\(level)\" "
                + "y2=\"\(level)\" stroke=\"#555\" stroke-dasharray=\"5 4\"><title>\(HTML.escape(text))</title></line>")
    }

    /// The `<svg>` element: frame, grid, ticks, axis labels, marks, legend.
    var svg: String {
        let (plotWidth, plotHeight) = (Self.coordinate(width - left - right), Self.coordinate(height - top - bottom))
        let (plotLeft, plotRight) = (Self.coordinate(left), Self.coordinate(width - right))
        let (plotTop, plotBottom) = (Self.coordinate(top), Self.coordinate(height - bottom))
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">",
            "<rect class=\"frame\" x=\"\(plotLeft)\" y=\"\(plotTop)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" "
                + "fill=\"#fff\" stroke=\"#999\"/>",
        ]
        for tick in x.ticks {
            let at = Self.coordinate(px(tick.value))
            parts.append(
                "<line x1=\"\(at)\" x2=\"\(at)\" y1=\"\(plotTop)\" y2=\"\(plotBottom)\" stroke=\"#eee\"/>")
            parts.append(
                "<text x=\"\(at)\" y=\"\(Self.coordinate(height - bottom + 15))\" text-anchor=\"middle\">"
                    + "\(HTML.escape(tick.text))</text>")
        }
        for tick in y.ticks {
            let at = Self.coordinate(py(tick.value))
            parts.append(
                "<line x1=\"\(plotLeft)\" x2=\"\(plotRight)\" y1=\"\(at)\" y2=\"\(at)\" stroke=\"#eee\"/>")
            parts.append(
                "<text x=\"\(Self.coordinate(left - 5))\" y=\"\(at)\" dy=\"4\" text-anchor=\"end\">"
                    + "\(HTML.escape(tick.text))</text>")
        }
        parts.append(
            "<text x=\"\(Self.coordinate((left + width - right) / 2))\" y=\"\(Self.coordinate(height - 6))\" "
                + "text-anchor=\"middle\">\(HTML.escape(x.label))</text>")
        parts.append(
            "<text transform=\"translate(14 \(Self.coordinate((top + height - bottom) / 2))) rotate(-90)\" "
                + "text-anchor=\"middle\">\(HTML.escape(y.label))</text>")
        parts += marks
        for (i, entry) in legend.enumerated() {
            let y =
                legendAtBottomRight
                ? height - bottom - 8 - Double(legend.count - 1 - i) * 16 : top + 14 + Double(i) * 16
            let x = legendAtBottomRight ? width - right - 170 : left + 10
            let dash = entry.dashed ? " stroke-dasharray=\"5 4\"" : ""
            parts.append(
                "<line x1=\"\(Self.coordinate(x))\" x2=\"\(Self.coordinate(x + 20))\" y1=\"\(Self.coordinate(y - 4))\" "
                    + "y2=\"\(Self.coordinate(y - 4))\" stroke=\"\(entry.colour)\" stroke-width=\"2\"\(dash)/>")
            parts.append(
                "<text x=\"\(Self.coordinate(x + 26))\" y=\"\(Self.coordinate(y))\">\(HTML.escape(entry.text))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
