import Foundation
import NIOCore
import Storage
import Testing

@Suite("Local disk storage")
struct LocalDiskStorageTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path

    func files() -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &dir) && !dir.boolValue
        }
    }

    @Test func streamedWriteIsVisibleOnlyAfterCommitAndReadsBackInRanges() async throws {
        let storage = try LocalDiskStorage(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Many chunks of odd sizes, more than one flush: every byte must land in order.
        var expected: [UInt8] = []
        let writer = try await storage.makeWriter(key: "media/a/original.mp4")
        for i in 0..<300 {
            let chunk = (0..<(1000 + i * 37)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            expected += chunk
            try await writer.write(ByteBuffer(bytes: chunk))
        }
        #expect(try await storage.info(key: "media/a/original.mp4") == nil, "nothing visible before commit")
        try await writer.commit()
        #expect(try await storage.info(key: "media/a/original.mp4")?.size == Int64(expected.count))
        #expect(try await storage.get(key: "media/a/original.mp4") == expected)
        var part: [UInt8] = []
        try await storage.read(key: "media/a/original.mp4", range: 1000..<5000, chunkSize: 777) { part += $0.readableBytesView }
        #expect(part == Array(expected[1000..<5000]))
        #expect(files() == ["media/a/original.mp4"], "no temp file left behind")
    }

    @Test func abortLeavesNothingAndPrefixDeleteRemovesAll() async throws {
        let storage = try LocalDiskStorage(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = try await storage.makeWriter(key: "media/b/original.jpg")
        try await writer.write(ByteBuffer(bytes: [UInt8](repeating: 1, count: 600_000)))
        await writer.abort()
        #expect(files().isEmpty)
        try await storage.put(key: "media/c/original.jpg", bytes: [1])
        try await storage.put(key: "media/c/g1/thumbnail.jpg", bytes: [2])
        try await storage.put(key: "media/d/original.jpg", bytes: [3])
        try await storage.deletePrefix("media/c/")
        #expect(files() == ["media/d/original.jpg"])
    }

    @Test(arguments: ["../x", "/etc/passwd", "media/../../x", "media/.tmp/x", "media//x", "", "media/a b"])
    func unsafeKeysAreRefused(key: String) async throws {
        let storage = try LocalDiskStorage(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(StorageKey.isValid(key) == false)
        await #expect(throws: StorageError.self) { _ = try await storage.makeWriter(key: key) }
    }

    @Test func aFileShorterThanTheRangeAskedForFailsTheReadInsteadOfEndingEarly() async throws {
        let storage = try LocalDiskStorage(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let key = "media/t/original.mp4"
        try await storage.put(key: key, bytes: [UInt8](repeating: 7, count: 10_000))
        let size = try #require(try await storage.info(key: key)?.size)
        // The file shrinks between `info` (which set Content-Length) and the read, as a replaced or damaged file would.
        #expect(truncate(root + "/" + key, 4_000) == 0)
        var received = 0
        let error = await #expect(throws: StorageError.self) {
            try await storage.read(key: key, range: 0..<size, chunkSize: 1024) { received += $0.readableBytes }
        }
        #expect(error?.description.contains("ends at 4000") == true)
        #expect(received == 4_000)
        // Reading to the end without a range is still allowed to find the end wherever it is.
        var all = 0
        try await storage.read(key: key, range: nil, chunkSize: 1024) { all += $0.readableBytes }
        #expect(all == 4_000)
    }

    @Test func listingComesInPagesAndCoversEveryBlobOnce() async throws {
        let storage = try LocalDiskStorage(root: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var expected = Set<String>()
        for folder in 0..<40 {
            for name in ["original.jpg", "g1/thumbnail.jpg", "g1/medium.jpg", "g2/thumbnail.jpg"] {
                let key = "media/f\(folder)/\(name)"
                try await storage.put(key: key, bytes: [1, 2, 3])
                expected.insert(key)
            }
        }
        try await storage.put(key: "other/x.bin", bytes: [9])
        // An uncommitted write stays out of every listing.
        let pending = try await storage.makeWriter(key: "media/f0/pending.jpg")
        try await pending.write(ByteBuffer(bytes: [1]))
        var seen: [String] = []
        var pages: [Int] = []
        try await storage.listPages(prefix: "media/", pageSize: 7) { page in
            pages.append(page.count)
            seen += page.map(\.key)
            #expect(page.allSatisfy { $0.size == 3 })
        }
        await pending.abort()
        #expect(Set(seen) == expected && seen.count == expected.count, "every blob once, nothing else")
        #expect(pages.dropLast().allSatisfy { $0 == 7 } && pages.count == (160 + 6) / 7)
        var narrow: [String] = []
        try await storage.listPages(prefix: "media/f1/g1/", pageSize: 100) { narrow += $0.map(\.key) }
        #expect(Set(narrow) == ["media/f1/g1/thumbnail.jpg", "media/f1/g1/medium.jpg"])
    }
}
