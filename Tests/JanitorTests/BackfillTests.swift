import Foundation
import Logging
import MediaDomain
import Persistence
import ServiceCore
import Storage
import Synchronization
import Testing
import TestSupport

import Operations
@testable import Janitor
import Placeholders

/// The Janitor's `backfill` (SPEC §12): media stored before placeholders existed get `metadata.thumbhash` and
/// `metadata.dominant_color` from a stored rendition, real pictures decoded by libvips, on the in-memory store.
@Suite("Janitor backfill of placeholders")
struct BackfillTests {
    let logger = Logger(label: "backfill-test")

    /// A real JPEG of one colour, made by the ffmpeg CLI (the test's checker, not the product's path).
    static func jpeg(colour: String, size: String) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "backfill-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let made = try runCapturing("/usr/bin/env", [
            "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=\(colour):size=\(size)", "-frames:v", "1",
            "-q:v", "2", path,
        ])
        #expect(made.status == 0, "\(made.output)")
        return try #require(FileManager.default.contents(atPath: path).map { [UInt8]($0) })
    }

    /// A ready media of `format` whose renditions are `pictures` (name → bytes, stored) plus `names` (not stored).
    func ready(_ repository: MemoryMediaRepository, _ storage: MemoryStorage, format: MediaFormat,
               pictures: [String: [UInt8]], metadata: [String: JSONValue] = [:]) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        try await storage.put(key: key, bytes: [1, 2, 3])
        guard case .created(let media) = try await repository.create(NewMedia(
            userId: 7, username: "u", format: format, fileSize: 3, originalFilename: "a", storageKey: key, isPublic: true))
        else { throw CancellationError() }
        var renditions: [String: RenditionInfo] = [:]
        for (name, bytes) in pictures {
            let renditionKey = StorageKeys.rendition(original: key, generation: 1, name: name, ext: "jpg")
            try await storage.put(key: renditionKey, bytes: bytes)
            renditions[name] = RenditionInfo(key: renditionKey, mimeType: "image/jpeg", width: 320, height: 240,
                                             fileSize: Int64(bytes.count))
        }
        let outcome = MediaReady(mediaId: media.id, generation: 1, renditions: renditions, width: 320, height: 240,
                                 duration: nil, bitrate: nil, metadata: metadata, processingMs: 5)
        #expect(try await repository.apply(.ready(outcome), consumer: "test") == .applied)
        return try #require(try await repository.find(id: media.id))
    }

    @Test func mediaWithoutPlaceholdersGetThemFromAStoredPictureAndTheRestAreCountedWithAReason() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let blue = try Self.jpeg(colour: "0x3080e0", size: "320x240")
        let image = try await ready(repository, storage, format: .jpeg, pictures: ["small": blue, "thumbnail": blue])
        let video = try await ready(repository, storage, format: .mp4, pictures: ["poster": try Self.jpeg(colour: "0xe03030", size: "240x320")])
        let silent = try await ready(repository, storage, format: .mp3, pictures: [:])
        let broken = try await ready(repository, storage, format: .jpeg, pictures: ["small": Array("not a picture".utf8)])
        let done = try await ready(repository, storage, format: .jpeg, pictures: ["small": blue],
                                   metadata: ["thumbhash": "AAAA", "dominant_color": "#000000"])
        let tasks = JanitorTasks(store: repository, storage: storage, settings: JanitorSettings(), instance: "test", logger: logger)

        // `done` has the placeholder a job made before SPEC §13 but no perceptual hash: it is given one.
        let dry = try await tasks.run(.backfill, dryRun: true, trigger: "test")
        #expect(dry.report.counts == ["scanned": 5, "placeholders": 3, "no_picture": 1, "unreadable": 1, "hashed": 5, "unhashable": 0])
        #expect(try await repository.find(id: image.id)?.metadata["thumbhash"] == nil, "a dry run writes nothing")

        let run = try await tasks.run(.backfill, dryRun: false, trigger: "test")
        #expect(run.report.counts == ["scanned": 5, "placeholders": 3, "no_picture": 1, "unreadable": 1, "hashed": 5, "unhashable": 0])
        // Stored before SPEC §13: the content hash of the original as `sha256sum` gives it ([1, 2, 3]).
        #expect(try await repository.find(id: image.id)?.sha256 == "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81")
        let filled = try #require(try await repository.find(id: image.id))
        let hash = try #require(filled.metadata["thumbhash"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(hash.count >= 5 && hash[4] & 0x80 != 0, "a landscape ThumbHash")
        #expect(Self.close(filled.metadata["dominant_color"]?.stringValue, to: (0x30, 0x80, 0xe0)), "\(filled.metadata)")
        #expect(filled.metadata["phash"]?.stringValue.flatMap(PerceptualHash.parse) != nil, "\(filled.metadata)")
        #expect(filled.metadata["format"] == nil && filled.status == .ready, "only the derived fields were added")
        let poster = try #require(try await repository.find(id: video.id))
        #expect(Self.close(poster.metadata["dominant_color"]?.stringValue, to: (0xe0, 0x30, 0x30)), "\(poster.metadata)")
        let posterHash = try #require(poster.metadata["thumbhash"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(posterHash[4] & 0x80 == 0, "a portrait poster's ThumbHash")
        #expect(poster.metadata["phash"]?.stringValue.flatMap(PerceptualHash.parse) != nil, "a poster's perceptual hash")
        #expect(try await repository.find(id: silent.id)?.metadata["thumbhash"] == nil)
        #expect(try await repository.find(id: broken.id)?.metadata["thumbhash"] == nil)
        let kept = try #require(try await repository.find(id: done.id))
        #expect(kept.metadata["thumbhash"] == "AAAA", "what a job made is kept")
        #expect(kept.metadata["phash"]?.stringValue.flatMap(PerceptualHash.parse) != nil, "what it lacked is added")

        // What could be filled was: a second run only looks at those that give nothing.
        let again = try await tasks.run(.backfill, dryRun: false, trigger: "test")
        #expect(again.report.counts == ["scanned": 2, "placeholders": 0, "no_picture": 1, "unreadable": 1, "hashed": 0, "unhashable": 0])
    }

    @Test func aPlaceholderIsNotWrittenOverAnotherGenerationOrOneAJobMade() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let media = try await ready(repository, storage, format: .jpeg, pictures: ["small": try Self.jpeg(colour: "gray", size: "64x64")])
        let fields: [String: JSONValue] = ["thumbhash": "BBBB", "dominant_color": "#808080", "phash": "8000000000000000"]
        #expect(try await repository.addPlaceholders(id: media.id, generation: 2, fields: fields, fence: nil) == false)
        #expect(try await repository.addPlaceholders(id: media.id, generation: 1, fields: fields, fence: nil) == true)
        #expect(try await repository.addPlaceholders(id: media.id, generation: 1, fields: ["thumbhash": "CCCC"], fence: nil) == false)
        #expect(try await repository.find(id: media.id)?.metadata["thumbhash"] == "BBBB")
    }

    static func close(_ hex: String?, to rgb: (Int, Int, Int)) -> Bool {
        guard let hex, hex.count == 7, let value = Int(hex.dropFirst(), radix: 16) else { return false }
        return abs(value >> 16 - rgb.0) <= 10 && abs((value >> 8) & 255 - rgb.1) <= 10 && abs(value & 255 - rgb.2) <= 10
    }
}

/// `orphan_sweep` and transform variants (SPEC §12): one nobody fetched for `MEDIA_VARIANT_RETENTION` goes, file and
/// ledger row; one fetched since stays.
@Suite("Janitor: transform variant retention")
struct VariantRetentionTests {
    @Test func variantsNobodyFetchedForTheRetentionGoAndFetchedOnesStay() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let clock = Mutex(Date())
        let variants = MemoryVariantStore(now: { clock.withLock { $0 } })
        let old = "media/\(UUID().uuidString.lowercased())/g1/variants/w_320-fit_inside-g_centre-q_80.webp"
        let fresh = "media/\(UUID().uuidString.lowercased())/g1/variants/w_100-fit_inside-g_centre-q_80.jpg"
        for key in [old, fresh] {
            try await storage.put(key: key, bytes: [1, 2, 3])
            try await variants.recordVariant(key: key, mediaId: 1, generation: 1, bytes: 3)
        }
        clock.withLock { $0 = $0.addingTimeInterval(20 * 86_400) }
        try await variants.markFetched(keys: [fresh])
        clock.withLock { $0 = $0.addingTimeInterval(11 * 86_400) }
        var settings = JanitorSettings()
        settings.orphanGrace = .seconds(3600)
        let tasks = JanitorTasks(store: repository, storage: storage, variants: variants, settings: settings,
                                 instance: "test", logger: Logger(label: "variants-test"))

        let dry = try await tasks.run(.orphanSweep, dryRun: true, trigger: "test")
        #expect(dry.report.counts["expired_variants"] == 1)
        #expect(try await storage.info(key: old) != nil, "a dry run removes nothing")

        let run = try await tasks.run(.orphanSweep, dryRun: false, trigger: "test")
        #expect(run.report.counts["expired_variants"] == 1)
        #expect(try await storage.info(key: old) == nil && variants.all[old] == nil, "31 days unfetched: gone")
        #expect(variants.all[fresh] != nil, "fetched 11 days ago: kept (its file is the generation's, not an orphan's)")
        #expect(try JanitorSettings(environment: Environment(["MEDIA_VARIANT_RETENTION": "7d"])).variantRetention == .seconds(604_800))
        #expect(JanitorSettings().variantRetention == .seconds(30 * 86_400))
    }
}
