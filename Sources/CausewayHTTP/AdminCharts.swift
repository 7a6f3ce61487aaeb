import CausewayCore

/// Small line charts as inline SVG, drawn on the server from `ConnectorStats` (one point per minute of
/// the last hour). No script or external library draws them.
enum AdminCharts {
    static let width = 240.0, height = 64.0

    struct Series {
        var name: String
        var cls: String
        /// One value per minute; nil: no data that minute (a gap).
        var values: [Double?]
    }

    /// A chart with a title, its current maximum on the axis, and one polyline per series.
    static func svg(title: String, unit: String, series: [Series], fixedMax: Double? = nil) -> String {
        let all = series.flatMap { $0.values.compactMap { $0 } }
        let top = fixedMax ?? max(all.max() ?? 0, 1e-9)
        var s = "<figure class=\"chart\"><figcaption>\(AdminHTML.escape(title))"
        for line in series { s += " <span class=\"key \(line.cls)\">\(AdminHTML.escape(line.name))</span>" }
        s += "</figcaption>"
        s += "<svg viewBox=\"0 0 \(Int(width)) \(Int(height) + 12)\" role=\"img\" aria-label=\"\(AdminHTML.escape(title))\" preserveAspectRatio=\"none\">"
        s += "<line class=\"axis\" x1=\"0\" y1=\"\(Int(height))\" x2=\"\(Int(width))\" y2=\"\(Int(height))\"/>"
        for line in series {
            for points in segments(line.values, top: top) where !points.isEmpty {
                if points.count == 1 {
                    s += "<circle class=\"\(line.cls)\" cx=\"\(points[0].0)\" cy=\"\(points[0].1)\" r=\"1.5\"/>"
                } else {
                    s += "<polyline class=\"\(line.cls)\" points=\"" + points.map { "\($0.0),\($0.1)" }.joined(separator: " ") + "\"/>"
                }
            }
        }
        s += "<text x=\"2\" y=\"\(Int(height) + 11)\">−60 min</text>"
        s += "<text x=\"\(Int(width) - 2)\" y=\"\(Int(height) + 11)\" text-anchor=\"end\">max \(AdminHTML.escape(AdminHTML.number(all.max() ?? 0, digits: 2, unit: unit)))</text>"
        return s + "</svg></figure>"
    }

    /// Runs of consecutive minutes with data, as points scaled into the chart.
    static func segments(_ values: [Double?], top: Double) -> [[(String, String)]] {
        var runs: [[(String, String)]] = [[]]
        let step = values.count > 1 ? width / Double(values.count - 1) : width
        for (i, v) in values.enumerated() {
            guard let v else {
                if !(runs.last?.isEmpty ?? true) { runs.append([]) }
                continue
            }
            let x = Double(i) * step
            let y = height - min(max(v / top, 0), 1) * (height - 2)
            runs[runs.count - 1].append((fmt(x), fmt(y)))
        }
        return runs
    }

    private static func fmt(_ v: Double) -> String { String((v * 10).rounded() / 10) }

    /// The four charts of one connector.
    static func connector(_ minutes: [ConnectorStats.Minute]) -> String {
        let rate = Series(name: "req/min", cls: "s1", values: minutes.map { Double($0.requests) })
        let p50 = Series(name: "p50", cls: "s1", values: minutes.map { $0.latencyMs(quantile: 0.5) })
        let p95 = Series(name: "p95", cls: "s2", values: minutes.map { $0.latencyMs(quantile: 0.95) })
        let errors = Series(name: "errors/min", cls: "s3", values: minutes.map { Double($0.sourceErrors) })
        let ratio = Series(name: "hit ratio", cls: "s1", values: minutes.map { $0.hitRatio })
        return "<div class=\"charts\">"
            + svg(title: "Request rate", unit: "/min", series: [rate])
            + svg(title: "Source latency", unit: " ms", series: [p50, p95])
            + svg(title: "Source errors", unit: "/min", series: [errors])
            + svg(title: "Cache hit ratio", unit: "", series: [ratio], fixedMax: 1)
            + "</div>"
    }
}
