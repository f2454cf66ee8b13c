import Foundation
import Testing
import TestSupport

/// `--help` of every executable names every `MEDIA_*` variable it reads (SPEC §5): the variables are collected from
/// the sources that build it (its own folder and the shared configuration), so a new setting without a help line
/// fails here.
@Suite("Every executable's --help lists what it reads",
       .enabled(if: ProcessInfo.processInfo.environment["MEDIA_TEST_BIN_DIR"] != nil, "needs make test's build"))
struct HelpTextTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shared = ["Shared/ServiceCore/Environment.swift"]

    /// Each executable and the source folders (besides `shared`) whose settings it reads.
    static let executables: [(String, [String])] = [
        ("mediaflow-gateway", ["Services/Gateway", "Shared/Operations"]),
        ("mediaflow-image", ["Services/ImageService"]),
        ("mediaflow-video", ["Services/VideoService"]),
        ("mediaflow-audio", ["Services/AudioService"]),
        ("mediaflow-janitor", ["Services/Janitor", "Shared/Operations"]),
        ("mediactl", ["Services/mediactl", "Shared/Operations"]),
    ]

    /// `"MEDIA_…"` string literals in the Swift files under `paths`.
    static func variablesRead(in paths: [String]) throws -> Set<String> {
        let pattern = try NSRegularExpression(pattern: #""(MEDIA_[A-Z0-9_]+)""#)
        var found = Set<String>()
        for path in paths {
            let url = root.appendingPathComponent(path)
            var files: [URL] = []
            if path.hasSuffix(".swift") {
                files = [url]
            } else if let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) {
                for case let file as URL in walker where file.pathExtension == "swift" { files.append(file) }
            }
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { found.insert(String(text[range])) }
                }
            }
        }
        return found
    }

    @Test(arguments: executables.map(\.0))
    func helpNamesEveryVariable(executable: String) throws {
        let folders = try #require(Self.executables.first { $0.0 == executable }?.1)
        let expected = try Self.variablesRead(in: folders + Self.shared)
        #expect(!expected.isEmpty)
        let bin = try #require(ProcessInfo.processInfo.environment["MEDIA_TEST_BIN_DIR"])
        let (status, output) = try runCapturing("\(bin)/\(executable)", ["--help"])
        #expect(status == 0, "\(executable) --help exited \(status)")
        let missing = expected.filter { !output.contains($0) }.sorted()
        #expect(missing.isEmpty, "\(executable) --help does not mention \(missing)")
    }
}
