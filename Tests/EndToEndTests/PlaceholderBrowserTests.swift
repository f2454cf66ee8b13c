import Foundation
import MediaDomain
import Testing
import TestSupport

/// SPEC §12 as a browser sees it: a feed page that paints each picture's ThumbHash (decoded by the reference
/// decoder in the page) and dominant colour at once, then loads the pictures from `auto`-format transform URLs that
/// `transform-url` minted. `Tests/Browser/placeholders.py` drives headless Chromium and saves both moments under
/// `.local/screenshots/placeholders/`; Chromium's `Accept` names AVIF, so the variants stored are AVIF.
@Suite("End to end: placeholders then auto-format transforms in Chromium", .serialized,
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct PlaceholderBrowserTests {
    /// The package's folder (this file is Tests/EndToEndTests/PlaceholderBrowserTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func aFeedPaintsPlaceholdersThenLoadsAutoFormatTransforms() async throws {
        let stack = try await Stack.start(overrides: ["MEDIA_TRANSFORM_KEY": "browser-test-key"])
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let pictures = [
            ("landscape.jpg", "-f lavfi -i testsrc2=size=1600x1200 -frames:v 1 -q:v 3"),
            ("portrait.jpg", "-f lavfi -i mandelbrot=size=900x1200 -frames:v 1 -q:v 3"),
            ("bars.jpg", "-f lavfi -i smptehdbars=size=1280x720 -frames:v 1 -q:v 3"),
        ]
        var items: [[String: Any]] = []
        var ids: [Int64] = []
        for (name, args) in pictures {
            let upload = try await stack.upload(try await Fixtures.make(name, args), filename: name, user: user, isPublic: false)
            let id = try #require(upload.json["id"]?.intValue)
            let media = try await stack.waitFor(id, user: user)
            try #require(media["status"] == "ready", "\(name): \(media)")
            let minted = try await stack.request(
                "POST", "/api/media/\(id)/transform-url/", user: user,
                body: Data(#"{"width": 320, "format": "auto"}"#.utf8),
                headers: ["Content-Type": "application/json"])
            #expect(minted.status == 200, "\(String(decoding: minted.body, as: UTF8.self))")
            let url = try #require(minted.json["url"]?.stringValue)
            #expect(url.contains("?exp="), "a private media's URL expires")
            // Within 320 wide, the whole picture (so its placeholder and it can be compared colour for colour).
            let (width, height) = (try #require(media["width"]?.intValue), try #require(media["height"]?.intValue))
            items.append([
                "id": id, "url": url, "width": 320, "height": Int((Double(height) * 320 / Double(width)).rounded()),
                "thumbhash": try #require(media["metadata"]?["thumbhash"]?.stringValue),
                "dominant_color": try #require(media["metadata"]?["dominant_color"]?.stringValue),
            ])
            ids.append(id)
        }

        let shots = Self.root.appendingPathComponent(".local/screenshots/placeholders").path
        try? FileManager.default.removeItem(atPath: shots)
        let script = Self.root.appendingPathComponent("Tests/Browser/placeholders.py").path
        let json = String(decoding: try JSONSerialization.data(withJSONObject: items), as: UTF8.self)
        let (status, output) = try runCapturing("/usr/bin/env", ["python3", script], environment: [
            "MEDIA_PH_ITEMS": json, "MEDIA_PH_SCREENSHOTS": shots, "SE_OFFLINE": "true",
        ])
        #expect(status == 0, "the browser checks: \(output)")
        print(output)
        for name in ["placeholders.png", "loaded.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(shots)/\(name)"), "\(name) saved")
        }
        // What Chromium asked for, seen from storage: an AVIF variant of each picture, rendered once.
        let variants = try await stack.storedKeys().filter { $0.contains("/variants/") }
        #expect(variants.count == 3 && variants.allSatisfy { $0.hasSuffix(".avif") }, "\(variants)")
    }
}
