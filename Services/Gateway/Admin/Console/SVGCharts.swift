import Foundation
import GatewayKit

/// The admin pages' charts and the audio waveform, drawn on the server as inline SVG: no script, no external asset,
/// and a page that reads the same in any browser. Every label goes through `escape`.
package enum SVGCharts {
    package struct Bar {
        package var label: String
        package var value: Double
        package var color: String
        /// What is printed at the bar's end (the value, formatted).
        package var text: String
    }

    package static let palette = ["#2457c5", "#1b7f3b", "#b3261e", "#9a6700", "#6f42c1", "#0a7ea4"]

    /// Horizontal bars, one per item, scaled to the largest.
    package static func bars(_ items: [Bar], title: String, width: Int = 440) -> String {
        let rowHeight = 30, labelWidth = 110, valueWidth = 70
        let height = max(1, items.count) * rowHeight + 10
        let span = Double(width - labelWidth - valueWidth)
        let top = max(items.map(\.value).max() ?? 0, 1)
        var svg = open(width: width, height: height, title: title)
        for (i, item) in items.enumerated() {
            let y = 5 + i * rowHeight
            let w = item.value > 0 ? max(2, span * item.value / top) : 0
            svg += ##"<text x="\##(labelWidth - 8)" y="\##(y + 19)" text-anchor="end" font-size="13" fill="#1d232a">\##(escape(item.label))</text>"##
            svg += ##"<rect x="\##(labelWidth)" y="\##(y + 5)" width="\##(format(w))" height="20" rx="3" fill="\##(item.color)"><title>\##(escape(item.label)): \##(escape(item.text))</title></rect>"##
            svg += ##"<text x="\##(format(Double(labelWidth) + w + 6))" y="\##(y + 19)" font-size="13" fill="#3a4653">\##(escape(item.text))</text>"##
        }
        if items.isEmpty {
            svg += ##"<text x="10" y="22" font-size="13" fill="#5d6b79">Nothing yet.</text>"##
        }
        return svg + "</svg>"
    }

    /// One column per day, with the count above each non-empty column and a date under every fifth.
    package static func columns(_ days: [(label: String, value: Int64)], title: String, width: Int = 900) -> String {
        let height = 200, bottom = 28, top = 18
        let plot = Double(height - bottom - top)
        let highest = Double(max(days.map(\.value).max() ?? 0, 1))
        let slot = Double(width - 40) / Double(max(days.count, 1))
        var svg = open(width: width, height: height, title: title)
        svg += ##"<line x1="30" y1="\##(height - bottom)" x2="\##(width - 6)" y2="\##(height - bottom)" stroke="#b9c2cc"/>"##
        for (i, day) in days.enumerated() {
            let x = 34 + Double(i) * slot
            let h = day.value > 0 ? max(2, plot * Double(day.value) / highest) : 0
            let y = Double(height - bottom) - h
            svg += ##"<rect x="\##(format(x))" y="\##(format(y))" width="\##(format(slot * 0.72))" height="\##(format(h))" fill="#2457c5"><title>\##(escape(day.label)): \##(day.value)</title></rect>"##
            if day.value > 0 {
                svg += ##"<text x="\##(format(x + slot * 0.36))" y="\##(format(y - 4))" text-anchor="middle" font-size="10" fill="#3a4653">\##(day.value)</text>"##
            }
            if i % 5 == 0 || i == days.count - 1 {
                svg += ##"<text x="\##(format(x + slot * 0.36))" y="\##(height - 10)" text-anchor="middle" font-size="10" fill="#5d6b79">\##(escape(String(day.label.suffix(5))))</text>"##
            }
        }
        return svg + "</svg>"
    }

    /// Two bars per group (p50 and p95), with a legend.
    package static func pairedBars(_ groups: [(label: String, first: Double, second: Double, note: String)], names: (String, String),
                           unit: String, title: String, width: Int = 900) -> String {
        let rowHeight = 52, labelWidth = 150, valueWidth = 110
        let height = max(1, groups.count) * rowHeight + 36
        let span = Double(width - labelWidth - valueWidth)
        let top = max(groups.map { max($0.first, $0.second) }.max() ?? 0, 1)
        var svg = open(width: width, height: height, title: title)
        svg += ##"<rect x="\##(labelWidth)" y="6" width="12" height="12" fill="#2457c5"/><text x="\##(labelWidth + 18)" y="16" font-size="12">\##(escape(names.0))</text>"##
        svg += ##"<rect x="\##(labelWidth + 80)" y="6" width="12" height="12" fill="#9a6700"/><text x="\##(labelWidth + 98)" y="16" font-size="12">\##(escape(names.1))</text>"##
        for (i, group) in groups.enumerated() {
            let y = 30 + i * rowHeight
            svg += ##"<text x="\##(labelWidth - 8)" y="\##(y + 20)" text-anchor="end" font-size="13" fill="#1d232a">\##(escape(group.label))</text>"##
            svg += ##"<text x="\##(labelWidth - 8)" y="\##(y + 36)" text-anchor="end" font-size="11" fill="#5d6b79">\##(escape(group.note))</text>"##
            for (j, (value, color)) in [(group.first, "#2457c5"), (group.second, "#9a6700")].enumerated() {
                let w = value > 0 ? max(2, span * value / top) : 0
                let by = y + 4 + j * 20
                svg += ##"<rect x="\##(labelWidth)" y="\##(by)" width="\##(format(w))" height="16" rx="2" fill="\##(color)"/>"##
                svg += ##"<text x="\##(format(Double(labelWidth) + w + 6))" y="\##(by + 13)" font-size="12" fill="#3a4653">\##(format(value)) \##(escape(unit))</text>"##
            }
        }
        if groups.isEmpty {
            svg += ##"<text x="10" y="50" font-size="13" fill="#5d6b79">No ready media in this window.</text>"##
        }
        return svg + "</svg>"
    }

    /// The waveform JSON's min/max pairs (each -1…1) as a filled outline: the maxima left to right, the minima back.
    package static func waveform(_ pairs: [Double], width: Int = 900, height: Int = 120) -> String {
        let count = pairs.count / 2
        guard count > 0 else { return "" }
        var top = "", bottom: [String] = []
        top.reserveCapacity(count * 14)
        let step = Double(width) / Double(count)
        let mid = Double(height) / 2
        for i in 0..<count {
            let x = format(Double(i) * step)
            let low = min(max(pairs[2 * i], -1), 1), high = min(max(pairs[2 * i + 1], -1), 1)
            top += "\(i == 0 ? "M" : "L")\(x) \(format(mid - high * mid))"
            bottom.append("L\(x) \(format(mid - low * mid))")
        }
        return ##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Waveform" viewBox="0 0 \##(width) \##(height)" width="100%" height="\##(height)" preserveAspectRatio="none" class="waveform"><title>Waveform</title><rect width="\##(width)" height="\##(height)" fill="#f1f4f8"/><line x1="0" y1="\##(format(mid))" x2="\##(width)" y2="\##(format(mid))" stroke="#c5ccd4"/><path d="\##(top)\##(bottom.reversed().joined())Z" fill="#2457c5" stroke="#2457c5" stroke-width="0.6"/></svg>"##
    }

    private static func open(width: Int, height: Int, title: String) -> String {
        ##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="\##(escape(title))" viewBox="0 0 \##(width) \##(height)" width="100%" font-family="system-ui,'DejaVu Sans',sans-serif"><title>\##(escape(title))</title>"##
    }

    package static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
