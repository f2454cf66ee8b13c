import Foundation
import MediaDomain
import Testing
import TestSupport

/// `compose/compose.yaml` and `compose/Dockerfile` checked without a Docker engine (there is none here, so nothing is
/// built or run): the file parses (PyYAML, anchors and merge keys resolved as Compose resolves them), every executable
/// it runs is a product of Package.swift that the Dockerfile builds, every environment variable it gives a Mediaflow
/// service is one that service's `--help` names, every Mediaflow service has a health check on `/healthz`; the
/// Dockerfile's build context holds every folder Package.swift names (none is dropped by `.dockerignore`), and its run
/// image installs the Debian package of every system library the binaries link (read from the binaries themselves).
@Suite("compose/ without Docker: the files parse, name only what the product has, and the image has what it links",
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

    /// The packages `apt-get install` puts in the run stage (the last `FROM`).
    func runImagePackages(_ dockerfile: String) -> Set<String> {
        guard let stage = dockerfile.components(separatedBy: "\nFROM ").last else { return [] }
        let install = stage.components(separatedBy: "apt-get install").dropFirst().first ?? ""
        let words = install.components(separatedBy: "&&").first ?? ""
        return Set(words.split(whereSeparator: { $0 == " " || $0 == "\\" || $0 == "\n" }).map(String.init)
            .filter { !$0.hasPrefix("-") && !$0.isEmpty })
    }

    /// Debian's package owning `library` (a soname) as this machine resolves it (`ldconfig -p`'s listing, read once by
    /// the caller), nil for the Swift toolchain's own.
    func owningPackage(_ library: String, ldconfig cache: String) throws -> String? {
        guard let line = cache.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(library + " ") }),
              let path = line.components(separatedBy: " => ").last
        else { return nil }   // not a system library: the toolchain's, linked statically into the image's binaries
        for candidate in [path, "/usr" + path, path.replacingOccurrences(of: "/usr/lib/", with: "/lib/")] {
            let owner = try runCapturing("/usr/bin/dpkg", ["-S", candidate])
            if owner.status == 0, let package = owner.output.split(separator: ":").first { return String(package) }
        }
        return nil
    }

    /// Every system library a product links directly (its ELF `NEEDED` entries) comes from a package the run image
    /// installs, or from one of their dependencies, or from the Debian base image.
    @Test func theRunImageInstallsThePackageOfEveryLibraryTheBinariesLink() throws {
        let bin = try #require(ProcessInfo.processInfo.environment["MEDIA_TEST_BIN_DIR"])
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("compose/Dockerfile"), encoding: .utf8)
        let installed = runImagePackages(dockerfile)
        #expect(installed.contains("libvips42"), "the run stage's package list was read: \(installed.sorted())")
        var provided = installed.union(["libc6", "libgcc-s1", "libstdc++6", "zlib1g"])   // in debian:bookworm-slim
        for package in installed {
            let depends = try runCapturing("/usr/bin/dpkg-query", ["-W", "-f=${Depends}", package]).output
            for clause in depends.split(separator: ",") {
                for alternative in clause.split(separator: "|") {
                    if let name = alternative.split(separator: " ").first { provided.insert(String(name)) }
                }
            }
        }
        // The products link mostly the same libraries: each is looked up once (dpkg -S reads its whole database).
        let ldconfig = try runCapturing("/sbin/ldconfig", ["-p"]).output
        var owners: [String: String?] = [:]
        for product in try products().sorted() {
            let elf = try runCapturing("/usr/bin/readelf", ["-d", "\(bin)/\(product)"])
            try #require(elf.status == 0, "\(product) is built")
            let needed = elf.output.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "]").first.map(String.init)
            }
            #expect(needed.contains("libc.so.6"), "\(product)'s NEEDED entries were read")
            for library in needed {
                if owners[library] == nil { owners[library] = .some(try owningPackage(library, ldconfig: ldconfig)) }
                guard let package = owners[library] ?? nil else { continue }
                #expect(provided.contains(package), "\(product) links \(library) from \(package), which the run image does not install")
            }
        }
    }

    /// `COPY . .` sends the build context: every folder Package.swift names must be in it (not dropped by
    /// `.dockerignore`), and every other `COPY` source must exist.
    @Test func theBuildContextHoldsEverythingThePackageNames() throws {
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("compose/Dockerfile"), encoding: .utf8)
        let ignored = (try? String(contentsOf: Self.root.appendingPathComponent(".dockerignore"), encoding: .utf8))?
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") } ?? []
        func isIgnored(_ path: String) -> Bool {
            ignored.contains { pattern in
                let prefix = pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern
                return pattern.hasSuffix("*") ? path.hasPrefix(prefix) : (path == pattern || path.hasPrefix(pattern + "/"))
            }
        }
        var sources: [String] = []
        for line in dockerfile.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let words = line.split(separator: " ").dropFirst().filter { !$0.hasPrefix("--") }
            sources += words.dropLast().map(String.init)
        }
        #expect(!sources.isEmpty, "the Dockerfile copies the source in")
        for source in sources {
            let path = source == "." ? "" : source
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path), "COPY \(source) exists")
            #expect(!isIgnored(path) || path.isEmpty, "COPY \(source) is not dropped by .dockerignore")
        }
        guard sources.contains(".") else { return }
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"path: "([^"]+)""#)
        let paths = regex.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest)).compactMap {
            Range($0.range(at: 1), in: manifest).map { String(manifest[$0]) }
        }
        #expect(paths.count > 10, "Package.swift's target folders were read")
        for path in paths {
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path), "\(path) exists")
            #expect(!isIgnored(path), "\(path) is in the build context (.dockerignore does not drop it)")
        }
    }
}
