import Foundation
import MediaDomain
import Testing
import TestSupport

/// `compose/compose.yaml` and `compose/Dockerfile` checked without a Docker engine (there is none here): the file
/// parses (PyYAML, anchors and merge keys resolved as Compose resolves them), every executable it runs is a product of
/// Package.swift that the Dockerfile builds, every environment variable it gives a Mediaflow service is one that
/// service's `--help` names, and every Mediaflow service has a health check on `/healthz`.
@Suite("compose/: the file parses and names only what the product has",
       .enabled(if: ProcessInfo.processInfo.environment["MEDIA_TEST_BIN_DIR"] != nil, "needs make test's build"))
struct ComposeFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// compose.yaml as JSON, through the test environment's PyYAML.
    func composeFile() async throws -> [String: JSONValue] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let path = Self.root.appendingPathComponent("compose/compose.yaml").path
        let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], 'w'))"
        let status = await runShell("MEDIA_JWT_SECRET=x python3 -c \"\(script)\" '\(path)' '\(out)'")
        try #require(status == 0, "compose.yaml parses as YAML")
        let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        return try #require(parsed.objectValue)
    }

    /// The `.executable(name: …)` products of Package.swift.
    func products() throws -> Set<String> {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"\.executable\(name: "([^"]+)""#)
        return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        })
    }

    func help(_ executable: String) throws -> String {
        let bin = try #require(ProcessInfo.processInfo.environment["MEDIA_TEST_BIN_DIR"])
        return try runCapturing("\(bin)/\(executable)", ["--help"]).output
    }

    @Test func everyServiceRunsAProductWithSettingsItReadsAndAHealthCheck() async throws {
        let compose = try await composeFile()
        let services = try #require(compose["services"]?.objectValue)
        let products = try products()
        var mediaflow: [String: String] = [:]   // compose service → executable
        for (name, value) in services {
            let service = try #require(value.objectValue, "\(name) is a mapping")
            guard case .array(let command)? = service["command"], let executable = command.first?.stringValue,
                  executable.hasPrefix("mediaflow-") || executable == "mediactl"
            else { continue }
            mediaflow[name] = executable
            #expect(products.contains(executable), "\(name) runs \(executable), a product of Package.swift (\(products.sorted()))")
            let help = try help(executable)
            let environment = service["environment"]?.objectValue ?? [:]
            #expect(!environment.isEmpty, "\(name) is configured")
            for key in environment.keys.sorted() {
                #expect(help.contains(key), "\(name) sets \(key), which \(executable) --help does not name")
            }
            let check = service["healthcheck"]?["test"]
            guard case .array(let test)? = check else {
                Issue.record("\(name) has no health check")
                continue
            }
            #expect(test.contains { $0.stringValue?.hasSuffix("/healthz") == true }, "\(name) checks /healthz: \(test)")
        }
        // The topology the issue asks for.
        let executables = mediaflow.values
        #expect(executables.filter { $0 == "mediaflow-gateway" }.count == 2, "two Gateways")
        func replicas(_ name: String) -> Int64 { services[name]?["deploy"]?["replicas"]?.intValue ?? 1 }
        #expect(mediaflow["image"] == "mediaflow-image" && replicas("image") == 2)
        #expect(mediaflow["video"] == "mediaflow-video" && replicas("video") == 3)
        #expect(mediaflow["audio"] == "mediaflow-audio" && mediaflow["janitor"] == "mediaflow-janitor")
        for server in ["postgres", "rabbitmq", "s3"] { #expect(services[server] != nil, "\(server) is in the file") }
    }

    @Test func theDockerfileBuildsEveryProductTheImageRuns() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("compose/Dockerfile"), encoding: .utf8)
        let loop = try #require(text.split(separator: "\n").first { $0.contains("for product in") })
        let built = Set(loop.split(separator: " ").map(String.init).filter { $0.hasPrefix("mediaflow-") || $0 == "mediactl;" }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ";")) })
        #expect(built == (try products()), "the Dockerfile builds exactly the executable products")
        #expect(text.contains("FROM debian:bookworm-slim"), "it runs on Debian slim")
        for library in ["libvips42", "libavformat59", "libavcodec59", "libswscale6", "libswresample4", "librabbitmq4"] {
            #expect(text.contains(library), "the run image has \(library)")
        }
    }
}
