import Foundation
import Lang
import XCTest
@testable import Workbench

final class ScriptRunnerTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "rorem-wb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func run(_ path: String, out: String? = nil) -> (Int32, String, [String]) {
        let output = CapturedOutput()
        var errors: [String] = []
        let status = ScriptRunner.run(path: path, out: out, output: output, errors: { errors.append($0) })
        return (status, output.text, errors)
    }

    func testScriptPrintsAndSavesRelativeToItsFolder() throws {
        let path = try write("a.rorem", """
        let img = new_image(20, 10, color: 0.5)
        let m = mask_box(img, 5, 2, 4, 3)
        print(img, m, m.count)
        save(img, "out.png")
        print(load("out.png").width)
        """)
        let (status, text, errors) = run(path)
        XCTAssertEqual(status, 0, errors.joined())
        XCTAssertEqual(text, "<image 20x10 rgb> <mask 20x10 area 6.0%> 12\n20\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/out.png"))
    }

    func testExitStatusesOfScripts() throws {
        XCTAssertEqual(run(try write("s.rorem", "let = 1")).0, 65)
        XCTAssertEqual(run(try write("r.rorem", "print(1)\n1 / 0\nprint(2)")).0, 70)
        XCTAssertEqual(run(folder + "/missing.rorem").0, 74)
        let (status, _, errors) = run(try write("io.rorem", "load(\"nope.png\")"))
        XCTAssertEqual(status, 74)
        XCTAssertTrue(errors.first?.hasPrefix("error: line 1, col 5: load(): cannot read") ?? false, errors.joined())
    }

    func testShowWithOutFolderWritesPNGs() throws {
        let path = try write("s.rorem", "show(new_image(4, 4))\nshow([mask_box(new_image(4, 4), 0, 0, 2, 2)])")
        let (status, text, _) = run(path, out: folder + "/shots")
        XCTAssertEqual(status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/shots/s-show-1.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/shots/s-show-2.png"))
        XCTAssertTrue(text.contains("<image 4x4 rgb> -> "))
    }

    func testOutputDirIsTheOutFolderOrTheDefault() throws {
        let path = try write("o.rorem", "print(output_dir(\"results\"))")
        XCTAssertEqual(run(path).1, folder + "/results\n")
        XCTAssertEqual(run(path, out: folder + "/given").1, folder + "/given\n")
        let nb = try write("o.md", "```rorem\nprint(output_dir(\"results\"))\n```\n")
        let (status, _, errors) = run(nb, out: folder + "/nbout")
        XCTAssertEqual(status, 0, errors.joined())
        let rendered = try String(contentsOfFile: folder + "/nbout/o.out.md", encoding: .utf8)
        XCTAssertTrue(rendered.contains(folder + "/nbout\n"), rendered)
    }

    func testNotebookRendersOutputsImagesAndStopsAtFailingCell() throws {
        let path = try write("nb.md", """
        # Title

        ```rorem
        let img = new_image(8, 6, color: [1, 0, 0])
        print("size", img.width, img.height)
        img
        ```

        Some **text**.

        ```rorem
        let m = mask_box(img, 1, 1, 3, 3)
        m.count
        oops
        ```

        ```rorem
        print("not reached")
        ```
        """)
        let (status, _, errors) = run(path, out: folder + "/rendered")
        XCTAssertEqual(status, 70)
        XCTAssertEqual(errors.first?.split(separator: "\n").first, "error: line 14, col 1: unknown name 'oops'")
        let md = try String(contentsOfFile: folder + "/rendered/nb.out.md", encoding: .utf8)
        XCTAssertTrue(md.contains("```text\nsize 8 6\n```"))
        XCTAssertTrue(md.contains("](data:image/png;base64,iVBORw0KGgo"))
        XCTAssertTrue(md.contains("```text\n9\n```"))
        XCTAssertFalse(md.contains("not reached\n```\n```text"))
        let html = try String(contentsOfFile: folder + "/rendered/nb.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<h1>Title</h1>"))
        XCTAssertTrue(html.contains("<strong>text</strong>"))
        XCTAssertEqual(html.components(separatedBy: "<img src=\"data:image/png;base64,").count, 2)
        XCTAssertTrue(html.contains("<pre class=\"error\">error: line 14, col 1: unknown name &#39;oops&#39;") || html.contains("<pre class=\"error\">error: line 14, col 1: unknown name 'oops'"))
    }

    func testNotebookParsing() {
        let nb = Notebook(parsing: "intro\n```rorem\na\nb\n```\nmid\n```python\nx\n```\n```rorem\nc")
        XCTAssertEqual(nb.cellCount, 2)
        guard case .cell(let source, let line) = nb.parts[1] else { return XCTFail("second part should be a cell") }
        XCTAssertEqual(source, "a\nb")
        XCTAssertEqual(line, 3)
        guard case .markdown(let text) = nb.parts[2] else { return XCTFail("third part should be text") }
        XCTAssertEqual(text, "mid\n```python\nx\n```")
    }

    func testMarkdownInline() {
        XCTAssertEqual(MarkdownHTML.inline("a `<b>` **c** *d* [e](f) <g>"), "a <code>&lt;b&gt;</code> <strong>c</strong> <em>d</em> <a href=\"f\">e</a> &lt;g&gt;")
        XCTAssertEqual(MarkdownHTML.render("## H\n- x\n- y\n\n1. z"), "<h2>H</h2>\n<ul>\n<li>x</li>\n<li>y</li>\n</ul>\n<ol>\n<li>z</li>\n</ol>\n")
    }
}
