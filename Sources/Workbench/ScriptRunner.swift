import Foundation
import Imaging
import Lang

/// Runs `.rorem` scripts and Markdown notebooks (`rorem run FILE [--out DIR]`).
public enum ScriptRunner {
    /// Runs the script or notebook at `path` and returns the exit status (0, or 65 syntax, 70 runtime,
    /// 74 I/O, 130 interrupted).
    ///
    /// A `.md` / `.markdown` file is a notebook: its ```` ```rorem ```` cells run top to bottom in one fresh
    /// session, and the rendered `NAME.out.md` and self-contained `NAME.html` are written next to it, or into
    /// `out`. A failing cell shows its error in the output and stops the run. Any other file is a script:
    /// it prints to standard output and stops at its first error, reported on standard error; with `out`,
    /// `show` writes numbered PNG files there instead of drawing in the terminal.
    /// Relative paths in primitives resolve against the file's folder.
    public static func run(path: String, out: String? = nil,
                           output: OutputSink = StandardOutput(),
                           errors: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) -> Int32 {
        let source: String
        do {
            source = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            errors("error: cannot read '\(path)': \(describe(error))")
            return 74
        }
        let folder = (path as NSString).deletingLastPathComponent
        let base = folder.isEmpty ? FileManager.default.currentDirectoryPath : folder
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "md" || ext == "markdown" {
            return runNotebook(source, path: path, base: base, out: out, output: output, errors: errors)
        }
        var display: ImageDisplay?
        if let dir = out {
            display = PNGFolderDisplay(folder: dir, stem: ((path as NSString).lastPathComponent as NSString).deletingPathExtension, output: output)
        } else if output is StandardOutput {
            display = TerminalImages.makeDisplay()
        }
        let session = Session(output: output, baseDirectory: base, display: display)
        session.outputDirectory = out.map { absolute($0) }
        let (status, report) = session.interpreter.runReporting(source)
        if let r = report { errors(r) }
        return status
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded)
    }

    static func runNotebook(_ source: String, path: String, base: String, out: String?,
                            output: OutputSink, errors: (String) -> Void) -> Int32 {
        let notebook = Notebook(parsing: source)
        let sink = NotebookSink()
        let session = Session(output: sink, baseDirectory: base)
        session.outputDirectory = out.map { absolute($0) }
        session.display = sink
        sink.session = session
        var outputs: [CellOutput] = []
        var status: Int32 = 0
        for part in notebook.parts {
            guard case .cell(let code, let line) = part else { continue }
            // Pad with blank lines so error positions are lines of the notebook file.
            let padded = String(repeating: "\n", count: max(0, line - 1)) + code
            do {
                try session.interpreter.run(padded, echo: true)
                outputs.append(sink.take())
            } catch {
                var cell = sink.take()
                cell.error = session.interpreter.format(error)
                outputs.append(cell)
                status = (error as? LangError)?.exitStatus ?? 70
                errors(cell.error ?? "error")
                break
            }
        }
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let dir = out ?? base
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let mdPath = (dir as NSString).appendingPathComponent(stem + ".out.md")
            let htmlPath = (dir as NSString).appendingPathComponent(stem + ".html")
            try NotebookRenderer.markdown(notebook, outputs: outputs).write(toFile: mdPath, atomically: true, encoding: .utf8)
            try NotebookRenderer.html(notebook, outputs: outputs, title: stem).write(toFile: htmlPath, atomically: true, encoding: .utf8)
            output.write("ran \(outputs.count) of \(notebook.cellCount) cells; wrote \(mdPath) and \(htmlPath)\n")
        } catch {
            errors("error: cannot write the rendered notebook into '\(dir)': \(describe(error))")
            return status == 0 ? 74 : status
        }
        return status
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? CocoaError, let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return (error as NSError).localizedDescription
    }
}

/// Writes each shown image as `STEM-show-N.png` into a folder and prints the path.
final class PNGFolderDisplay: ImageDisplay {
    let folder: String
    let stem: String
    let output: OutputSink
    var count = 0

    init(folder: String, stem: String, output: OutputSink) {
        self.folder = folder
        self.stem = stem
        self.output = output
    }

    func show(_ image: Image, caption: String?) throws {
        count += 1
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent("\(stem)-show-\(count).png")
        try ImageIO.save(image, to: path)
        output.write("\(caption ?? image.summary) -> \(path)\n")
    }
}
