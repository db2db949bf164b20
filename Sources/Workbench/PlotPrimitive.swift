import Foundation
import Imaging
import Lang

/// The `plot` primitive: line charts of loss curves and per-stage numbers, as images.
enum PlotPrimitives {
    static func register(in session: Session) {
        session.interpreter.register(Primitive(
            "plot",
            [Parameter("data", .either([.list, .record, .object("training")])), Parameter("y", .either([.string, .list]), default: .nil),
             Parameter("x", .string, default: .nil), Parameter("title", .string, default: .string("")),
             Parameter("path", .string, default: .nil), Parameter("smooth", .integer, default: .number(1)),
             Parameter("ymin", .number, default: .nil), Parameter("ymax", .number, default: .nil),
             Parameter("width", .integer, default: .number(480)), Parameter("height", .integer, default: .number(300))],
            summary: "A line chart as an image: a loss curve, several named series, or columns of a table; show() it or give path: to save a PNG.",
            help: """
            data: a list of numbers; a training run from train(...); a list of runs; a record {name: numbers or run, ...};
            or a table (a list of records) with y: the column(s) to draw and x: the column that labels the points.
            smooth: a moving average over that many points (for noisy losses). ymin/ymax fix the vertical range.
            """,
            example: "show(plot(table, y: [\"sr_oracle\", \"sr_discriminator\"], x: \"stage\", title: \"success rate\"))"
        ) { [unowned session] args in
            var chart = LinePlot(series: try series(args), xLabels: try xLabels(args))
            chart.title = try args.string("title")
            chart.width = try args.int("width")
            chart.height = try args.int("height")
            let window = try args.int("smooth")
            guard window >= 1 else { throw PrimitiveError("plot(): smooth must be at least 1, got \(window)") }
            chart.series = chart.series.map { LinePlot.Series(name: $0.name, values: movingAverage($0.values, window: window)) }
            let (lo, hi) = (args["ymin"].number, args["ymax"].number)
            if lo != nil || hi != nil {
                let finite = chart.series.flatMap(\.values).filter(\.isFinite)
                let a = lo ?? finite.min() ?? 0, b = hi ?? finite.max() ?? 1
                guard a < b else { throw PrimitiveError("plot(): ymin must be below ymax, got \(Value.format(a)) and \(Value.format(b))") }
                chart.yRange = a...b
            }
            let image: Image
            do {
                image = try chart.render()
            } catch let e as PlotError {
                throw PrimitiveError("plot(): \(e)")
            }
            if let path = args["path"].string {
                let resolved = session.resolve(path)
                try DomainPrimitives.domain("plot") {
                    try FileManager.default.createDirectory(atPath: (resolved as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try ImageIO.save(image, to: resolved)
                }
            }
            return .object(ImageValue(image))
        })
    }

    /// The numbers of a list, or nil when an element is not a number (nil elements become gaps).
    static func numbers(_ value: Value) -> [Double]? {
        if case .object(let t as TrainingValue) = value { return t.report.losses.map { Double($0) } }
        guard case .list(let xs) = value else { return nil }
        var out: [Double] = []
        for x in xs {
            switch x {
            case .number(let n): out.append(n)
            case .nil: out.append(.nan)
            default: return nil
            }
        }
        return out
    }

    /// The series `plot`'s arguments describe (see its help).
    static func series(_ args: Arguments) throws -> [LinePlot.Series] {
        let data = args["data"]
        if case .object(let t as TrainingValue) = data { return [LinePlot.Series(name: "\(t.model) loss", values: numbers(data) ?? [])] }
        if case .record(let r) = data {
            return try zip(r.keys, r.values).map { key, v in
                guard let values = numbers(v) else { throw PrimitiveError("plot(): field '\(key)' must be a list of numbers or a training run, got \(v.typeName)") }
                return LinePlot.Series(name: key, values: values)
            }
        }
        guard case .list(let items) = data else { throw PrimitiveError("plot(): data must be a list, a record or a training run, got \(data.typeName)") }
        if args["y"] != .nil {
            let columns: [String]
            if let one = args["y"].string { columns = [one] } else {
                columns = try args["y"].elements(for: "plot").map { v in
                    guard let s = v.string else { throw PrimitiveError("plot(): y must name columns (strings), got \(v.typeName)") }
                    return s
                }
            }
            return try columns.map { column in
                LinePlot.Series(name: column, values: try items.enumerated().map { k, row in
                    guard case .record(let r) = row else { throw PrimitiveError("plot(): with y:, data must be a list of records; element \(k) is \(row.typeName)") }
                    guard let v = r[column] else { throw PrimitiveError("plot(): row \(k) has no column '\(column)' (it has \(r.keys.joined(separator: ", ")))") }
                    if case .nil = v { return .nan }
                    guard let n = v.number else { throw PrimitiveError("plot(): row \(k) column '\(column)' is \(v.typeName), not a number") }
                    return n
                })
            }
        }
        if let values = numbers(data) { return [LinePlot.Series(name: "", values: values)] }
        return try items.enumerated().map { k, item in
            guard case .object(let t as TrainingValue) = item else {
                throw PrimitiveError("plot(): element \(k) is \(item.typeName); give a list of numbers, a list of training runs, or a table with y:")
            }
            return LinePlot.Series(name: "\(t.model) loss", values: numbers(item) ?? [])
        }
    }

    /// Labels for the points from column `x` of a table, or nil.
    static func xLabels(_ args: Arguments) throws -> [String]? {
        guard let column = args["x"].string else { return nil }
        guard case .list(let items) = args["data"] else { throw PrimitiveError("plot(): x: names a column, so data must be a list of records") }
        return try items.enumerated().map { k, row in
            guard case .record(let r) = row, let v = r[column] else { throw PrimitiveError("plot(): row \(k) has no column '\(column)'") }
            return v.string ?? v.printed
        }
    }

    /// Each value replaced by the mean of the finite values among it and the `window - 1` before it.
    static func movingAverage(_ values: [Double], window: Int) -> [Double] {
        guard window > 1 else { return values }
        return values.indices.map { i in
            let part = values[max(0, i - window + 1)...i].filter(\.isFinite)
            return part.isEmpty ? .nan : part.reduce(0, +) / Double(part.count)
        }
    }
}
