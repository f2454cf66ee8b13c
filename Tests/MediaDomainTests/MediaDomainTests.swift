import Foundation
import MediaDomain
import Testing

@Suite("Domain rules")
struct MediaDomainTests {
    @Test func limitsAreBinaryUnitsAndDescribed() {
        let limits = MediaLimits()
        #expect(limits.maxBytes(for: .image) == 10_485_760)
        #expect(limits.maxBytes(for: .video) == 104_857_600)
        #expect(limits.maxBytes(for: .audio) == 20_971_520)
        #expect(limits.describeLimit(for: .image) == "10 MB for images")
        #expect(limits.describeLimit(for: .video) == "100 MB for videos")
    }

    @Test func extensionsAnnounceTypes() {
        #expect(SupportedExtensions.fileType(forFilename: "a.JPG") == .image)
        #expect(SupportedExtensions.fileType(forFilename: "clip.webm") == .video)
        #expect(SupportedExtensions.fileType(forFilename: "voice.m4a") == .audio)
        #expect(SupportedExtensions.fileType(forFilename: "doc.pdf") == nil)
        #expect(SupportedExtensions.fileType(forFilename: "noextension") == nil)
        #expect(SupportedExtensions.fileType(forFilename: "trailingdot.") == nil)
    }

    @Test func storageKeysKeepAMediaUnderOneFolder() {
        let original = StorageKeys.original(folder: "abc", format: .jpeg)
        #expect(original == "media/abc/original.jpg")
        let rendition = StorageKeys.rendition(original: original, generation: 2, name: "thumbnail", ext: "jpg")
        #expect(rendition == "media/abc/g2/thumbnail.jpg")
        #expect(StorageKeys.mediaFolder(of: rendition) == "media/abc/")
        #expect(StorageKeys.mediaFolder(of: original) == "media/abc/")
        #expect(StorageKeys.mediaFolder(of: "other/abc/x") == nil)
    }

    @Test func eventsRoundTripWithSnakeCaseAndUTCDates() throws {
        let event = MediaUploaded(
            mediaId: 7, generation: 2, userId: 3, fileType: .video, format: .mp4, mimeType: "video/mp4",
            storageKey: "media/x/original.mp4", fileSize: 99)
        let data = try EventCoding.encoder().encode(event)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"media_id\":7") && json.contains("\"storage_key\"") && json.contains("Z\""))
        let back = try EventCoding.decoder().decode(MediaUploaded.self, from: data)
        #expect(back.mediaId == 7 && back.eventId == event.eventId)
        #expect(abs(back.occurredAt.timeIntervalSince(event.occurredAt)) < 0.001)
    }

    @Test(arguments: [0.0, 1_764_147_600.123, 951_782_400.5, 4_102_444_799.999, 1_709_210_096.042])
    func iso8601MatchesFoundation(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let foundation = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
        #expect(ISO8601.string(from: date) == foundation)
        #expect(ISO8601.date(from: ISO8601.string(from: date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
    }

    @Test func statsAlwaysHaveEveryKey() {
        let stats = MediaStats(total: 1, byType: [.image: 1], byStatus: [.ready: 1], totalSize: 5)
        #expect(stats.byType.count == 3 && stats.byType[.audio] == 0)
        #expect(stats.byStatus.count == 4 && stats.byStatus[.uploading] == 0)
    }
}
