import Foundation
import MediaDomain
import NIOCore
import Janitor
import Operations
import Persistence
@testable import Storage
import Testing
import TestSupport

/// The orphan sweep on a bucket of the test S3 server (SPEC §4, §9): the same keys as on disk, listed a page at a
/// time, and the multipart uploads a crashed Gateway left open aborted.
@Suite("Janitor orphan sweep on real PostgreSQL and S3", .serialized,
       .enabled(if: TestServers.available && ProcessInfo.processInfo.environment["MEDIA_LOCAL_S3_URL"] != nil,
                "needs make test's servers, S3 included"))
struct JanitorOnS3Tests {
    /// A fresh bucket on the test S3 server.
    static func freshBucket() async throws -> S3Storage {
        let env = ProcessInfo.processInfo.environment
        var components = try #require(URLComponents(string: env["MEDIA_LOCAL_S3_URL"] ?? ""))
        components.host = "janitor-\(UUID().uuidString.lowercased().prefix(8))"
        let storage = S3Storage(location: try S3Location(
            url: components.string ?? "", accessKey: env["MEDIA_LOCAL_S3_ACCESS_KEY"] ?? "",
            secretKey: env["MEDIA_LOCAL_S3_SECRET_KEY"] ?? ""))
        try await storage.createBucket()
        return storage
    }

    @Test func orphansAndAbandonedMultipartUploadsGoOwnedObjectsStay() async throws {
        let storage = try await Self.freshBucket()
        try await TestServers.withDatabase { _, repository in
            let user = Int64.random(in: 1_000_000...9_000_000_000)
            let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
            try await storage.put(key: key, bytes: [1, 2, 3])
            guard case .created(let media) = try await repository.create(NewMedia(
                userId: user, username: "janitor-s3", format: .jpeg, fileSize: 3, originalFilename: "a.jpg",
                storageKey: key, isPublic: true))
            else { throw CancellationError() }
            let rendition = StorageKeys.rendition(original: media.storageKey, generation: 1, name: "thumbnail", ext: "jpg")
            let deletedMedia = "media/\(UUID().uuidString.lowercased())/original.jpg"
            let deletedRendition = StorageKeys.rendition(original: deletedMedia, generation: 1, name: "small", ext: "jpg")
            for key in [rendition, deletedMedia, deletedRendition] { try await storage.put(key: key, bytes: [9]) }
            // A Gateway that died mid-upload: its multipart upload is open, no object exists.
            let crashed = try await storage.makeWriter(key: "media/\(UUID().uuidString.lowercased())/original.mp4")
            try await crashed.write(ByteBuffer(bytes: [UInt8](repeating: 7, count: S3Storage.partSize + 1)))
            let open = try await storage.openMultipartUploads(prefix: "media/")
            #expect(open.count == 1)
            // Its first part is stored (a sweep judges an upload by its newest part).
            let stored = await eventually(timeout: .seconds(30)) {
                guard let upload = open.first else { return false }
                return (try? await storage.lastPartStored(key: upload.key, uploadId: upload.uploadId)) != nil
            }
            #expect(stored)

            // Within the grace everything stays.
            let patient = JanitorTasks(store: repository, storage: storage, settings: JanitorSettings(), instance: "itest-s3",
                                       logger: TestServers.logger)
            let young = try await patient.run(.orphanSweep, dryRun: false, trigger: "itest")
            #expect(young.report.counts["kept_young"] == 2 && young.report.counts["removed"] == 0, "\(young.report.counts)")
            #expect(young.report.counts["removed_abandoned_writes"] == 0)

            // With no grace: the deleted media's two objects and the open upload go; the live media's stay.
            try await Task.sleep(for: .seconds(1.1))  // S3 times are whole seconds
            var settings = JanitorSettings()
            settings.orphanGrace = .zero
            let eager = JanitorTasks(store: repository, storage: storage, settings: settings, instance: "itest-s3",
                                     logger: TestServers.logger)
            let dry = try await eager.run(.orphanSweep, dryRun: true, trigger: "itest")
            #expect(dry.report.counts["orphans"] == 2 && dry.report.counts["removed_abandoned_writes"] == 1, "\(dry.report.counts)")
            #expect(try await storage.list(prefix: "media/").count == 4, "a dry run removes nothing")
            let sweep = try await eager.run(.orphanSweep, dryRun: false, trigger: "itest")
            #expect(sweep.report.counts["removed"] == 2 && sweep.report.counts["scanned"] == 4, "\(sweep.report.counts)")
            #expect(try await storage.list(prefix: "media/") == [key, rendition].sorted())
            #expect(try await storage.openMultipartUploads(prefix: "media/").isEmpty)
            await crashed.abort()
        }
    }
}
