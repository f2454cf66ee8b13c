import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MediaDomain
import Testing
import TestSupport
import Tokens

/// The admin console (SPEC §7) in a real browser: headless Chromium over WebDriver, driven by
/// `Tests/Browser/admin_console.py` (Selenium, from the test command's virtual environment) against the real services.
/// This test makes what the browser needs: failed media whose jobs are dead-lettered (a broken ImageService, as in the
/// operations tests), then a working ImageService and ready media of each type. The script saves a screenshot of every
/// page under `.local/screenshots/admin/`.
@Suite("End to end: the admin console in Chromium", .serialized,
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct AdminConsoleBrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(.timeLimit(.minutes(8)))
    func aStaffMemberSignsInFindsPlaysReprocessesReplaysAndRunsTheJanitorInChromium() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-admin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        // The Janitor records the dead letters and runs the task the browser asks for.
        let stack = try await Stack.start(processors: ["mediaflow-video", "mediaflow-audio", "mediaflow-janitor"], logDirectory: logs)
        defer { stack.stop() }
        let owner: Int64 = 7401
        let firstRun = try await stack.sql("SELECT COALESCE(max(id), 0) FROM janitor_runs")
        let tag = "adm\(UInt32.random(in: 100_000...999_999))"

        // Four images fail transiently until they are dead-lettered (their scratch folder cannot be made).
        let notADirectory = "\(logs)/not-a-directory"
        _ = FileManager.default.createFile(atPath: notADirectory, contents: Data("x".utf8))
        let broken = try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort()), "TMPDIR": notADirectory],
                                      log: "\(logs)/broken-image.log")
        let small = try await Fixtures.jpeg(width: 640, height: 480)
        var failed: [Int64] = []
        for i in 1...4 {
            failed.append(try #require(try await stack.upload(small, filename: "\(tag)-fail-\(i).jpg", user: owner).json["id"]?.intValue))
        }
        for id in failed {
            let media = try await stack.waitFor(id, user: owner, timeout: .seconds(120))
            try #require(media["status"] == "failed", "media \(id) failed first: \(media)")
        }
        broken.terminate()
        broken.waitUntilExit()

        // The cause is gone; ready media of each type.
        let imageLog = "\(logs)/image.log"
        try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort())], log: imageLog)
        let photo = try await Fixtures.jpeg(width: 800, height: 600)
        let clip = try await Fixtures.make(
            "clip.mp4", "-f lavfi -i testsrc2=size=640x360:rate=25:duration=4 -f lavfi -i sine=frequency=440:duration=4 -shortest -pix_fmt yuv420p")
        let voice = try await Fixtures.make(
            "voice.wav", "-f lavfi -i sine=frequency=220:duration=5 -af volume='0.2+0.8*abs(sin(t*2))':eval=frame")
        var ready: [Int64] = []
        for (bytes, name) in [(photo, "photo.jpg"), (clip, "clip.mp4"), (voice, "voice.wav")] {
            let id = try #require(try await stack.upload(bytes, filename: "\(tag)-\(name)", user: owner).json["id"]?.intValue)
            let media = try await stack.waitFor(id, user: owner, timeout: .seconds(120))
            try #require(media["status"] == "ready", "\(name) is ready: \(media)")
            ready.append(id)
        }

        // What a client other than a browser sees at the door: 401 with the login page, 403 for a non-staff token.
        let anonymous = try await stack.request("GET", "/admin/")
        #expect(anonymous.status == 401)
        #expect(String(decoding: anonymous.body, as: UTF8.self).contains("name=\"token\""), "the login form")
        #expect(anonymous.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(try await stack.request("GET", "/admin/stats/", user: owner).status == 403)
        let staffToken = JWTAuthenticator(secret: stack.secret)
            .mint(user: AuthenticatedUser(id: 1, username: "admin-e2e", isStaff: true))
        #expect(try await stack.request("GET", "/admin/janitor/", headers: ["Authorization": "Bearer \(staffToken)"]).status == 200)

        // The browser.
        let shots = Self.root.appendingPathComponent(".local/screenshots/admin").path
        try? FileManager.default.removeItem(atPath: shots)
        let script = Self.root.appendingPathComponent("Tests/Browser/admin_console.py").path
        let (status, output) = try runCapturing("/usr/bin/env", ["python3", script], environment: [
            "MEDIA_ADMIN_BASE_URL": stack.baseURL, "MEDIA_ADMIN_STAFF_TOKEN": staffToken,
            "MEDIA_ADMIN_USER_TOKEN": stack.token(user: owner), "MEDIA_ADMIN_TAG": tag,
            "MEDIA_ADMIN_IMAGE": String(ready[0]), "MEDIA_ADMIN_VIDEO": String(ready[1]), "MEDIA_ADMIN_AUDIO": String(ready[2]),
            "MEDIA_ADMIN_FAILED": failed.map(String.init).joined(separator: ","), "MEDIA_ADMIN_SCREENSHOTS": shots,
            // Selenium never looks for drivers on the network: Debian's chromium-driver is named explicitly.
            "SE_OFFLINE": "true",
        ])
        #expect(status == 0, "the browser checks: \(output)")
        print(output)

        // What the browser did, seen from the server: every failed media ready, each processed once.
        for id in failed {
            let media = try await stack.request("GET", "/api/media/\(id)/", user: owner).json
            #expect(media["status"] == "ready", "media \(id) ended ready: \(media)")
            let log = (try? String(contentsOfFile: imageLog, encoding: .utf8)) ?? ""
            let processed = log.split(separator: "\n").filter { $0.contains("media ready") && $0.contains("media_id=\(id) ") }.count
            #expect(processed == 1, "media \(id) processed once (\(processed) times)")
        }
        // Runs of this test only: the test database outlives a run of `scripts/test.sh --filter` (make test cleans it).
        let runs = try await stack.sql("""
            SELECT count(*) FROM janitor_runs WHERE task = 'orphan_sweep' AND dry_run AND trigger = 'staff:admin-e2e'
              AND id > \(firstRun)
            """)
        #expect(runs == "1", "the dry run the browser started is recorded")
        let screenshots = (try? FileManager.default.contentsOfDirectory(atPath: shots)) ?? []
        #expect(screenshots.filter { $0.hasSuffix(".png") }.count >= 15, "a screenshot of every page: \(screenshots.sorted())")
    }
}
