import Crypto
import Foundation
import NIOCore
@testable import Storage
import Testing
import TestSupport


/// The S3 server `make test` starts (moto, with signature checks on), as its environment names it.
enum TestS3 {
    static let env = ProcessInfo.processInfo.environment
    static var available: Bool { env["MEDIA_LOCAL_S3_URL"] != nil }

    static func location(secret: String? = nil) throws -> S3Location {
        try S3Location(
            url: env["MEDIA_LOCAL_S3_URL"] ?? "", accessKey: env["MEDIA_LOCAL_S3_ACCESS_KEY"] ?? "",
            secretKey: secret ?? env["MEDIA_LOCAL_S3_SECRET_KEY"] ?? "")
    }

    static func storage() throws -> S3Storage { S3Storage(location: try location()) }

    /// Runs a boto3 script (the test's Python environment) with the server's endpoint, bucket and keys in its
    /// environment; returns its exit status.
    static func boto3(_ script: String) throws -> Int32 {
        let location = try location()
        let arguments = ["python3", "-c", """
            import os, sys, boto3
            s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                              aws_access_key_id=os.environ["MEDIA_LOCAL_S3_ACCESS_KEY"],
                              aws_secret_access_key=os.environ["MEDIA_LOCAL_S3_SECRET_KEY"])
            bucket = os.environ["S3_BUCKET"]
            \(script)
            """]
        var environment = env
        environment["S3_ENDPOINT"] = location.endpoint.absoluteString
        environment["S3_BUCKET"] = location.bucket
        let process = try ChildProcess("/usr/bin/env", arguments, environment: environment)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Deterministic bytes: chunk `i` of a stream, so a reader can recompute what was written without keeping it.
func pattern(_ i: Int, size: Int) -> [UInt8] {
    (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ i &* 7 &+ ($0 >> 9)) }
}

/// The process's resident memory, in bytes (VmRSS).
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib * 1024
}

@Suite("S3 storage on a real S3 server", .serialized,
       .enabled(if: TestS3.available, "needs MEDIA_LOCAL_S3_URL and its keys (make test starts the server)"))
struct S3StorageTests {
    let prefix = "t-\(UUID().uuidString.lowercased().prefix(8))/"

    @Test func streamedPutOf100MBKeepsMemoryFlatAndReadsBackIdentical() async throws {
        let storage = try TestS3.storage()
        let key = prefix + "big.bin"
        let writer = try await storage.makeWriter(key: key)
        let chunk = 256 * 1024, chunks = 400  // 100 MiB in 256 KiB writes, as the Gateway streams a body
        var hash = SHA256()
        // Sixteen buffers are made before the measurement and written in turn; resident memory is sampled after
        // each write.
        let buffers = (0..<16).map { ByteBuffer(bytes: pattern($0, size: chunk)) }
        let baseline = residentBytes()
        // A reading of 0 (no /proc) would make the memory bound below pass without measuring anything.
        try #require(baseline > 0, "resident memory cannot be read from /proc/self/status")
        var peak = baseline
        for i in 0..<chunks {
            let buffer = buffers[i % 16]
            hash.update(data: Data(buffer.readableBytesView))
            try await writer.write(buffer)
            peak = max(peak, residentBytes())
        }
        #expect(try await storage.info(key: key) == nil, "nothing visible before commit")
        #expect(try await storage.openMultipartUploads(prefix: key).count == 1, "parts go up while the body streams")
        try await writer.commit()
        let grown = peak - baseline
        #expect(grown < 48 << 20, "resident memory grew \(grown >> 20) MiB while streaming 100 MiB")
        #expect(try await storage.info(key: key)?.size == Int64(chunk * chunks))
        #expect(try await storage.openMultipartUploads(prefix: key).isEmpty)
        var readBack = SHA256()
        try await storage.read(key: key, range: nil, chunkSize: 1 << 20) { readBack.update(data: Data($0.readableBytesView)) }
        #expect(readBack.finalize() == hash.finalize(), "the object is the stream, byte for byte")
        try await storage.delete(key: key)
        #expect(try await storage.info(key: key) == nil)
    }

    @Test func anUploadAbortedMidStreamLeavesNoObjectAndNoOpenMultipartUpload() async throws {
        let storage = try TestS3.storage()
        let key = prefix + "aborted.bin"
        let writer = try await storage.makeWriter(key: key)
        let buffer = ByteBuffer(bytes: pattern(1, size: 1 << 20))
        for _ in 0..<20 { try await writer.write(buffer) }  // 20 MiB: 2 parts sent
        #expect(try await storage.openMultipartUploads(prefix: key).count == 1)
        await writer.abort()
        #expect(try await storage.info(key: key) == nil)
        #expect(try await storage.openMultipartUploads(prefix: key).isEmpty, "ListMultipartUploads shows nothing open")
        #expect(try await storage.list(prefix: prefix).isEmpty)
        // A writer dropped without commit or abort (a crash): the orphan sweep aborts what it left open under
        // media/, and nothing another application of a shared bucket has open elsewhere.
        let mine = "media/" + prefix
        let orphan = try await storage.makeWriter(key: mine + "crashed.bin")
        for _ in 0..<9 { try await orphan.write(buffer) }
        let theirs = try await storage.makeWriter(key: prefix + "someone-elses.bin")
        for _ in 0..<9 { try await theirs.write(buffer) }
        #expect(try await storage.openMultipartUploads(prefix: mine).count == 1)
        #expect(try await storage.sweepAbandonedWrites(olderThan: Date().addingTimeInterval(60), dryRun: true) >= 1)
        #expect(try await storage.openMultipartUploads(prefix: mine).count == 1, "a dry run aborts nothing")
        _ = try await storage.sweepAbandonedWrites(olderThan: Date().addingTimeInterval(60), dryRun: false)
        #expect(try await storage.openMultipartUploads(prefix: mine).isEmpty)
        #expect(try await storage.openMultipartUploads(prefix: prefix).count == 1, "an upload outside media/ is not ours")
        await orphan.abort()
        await theirs.abort()
        #expect(try await storage.openMultipartUploads(prefix: prefix).isEmpty)
    }

    @Test func smallAndEmptyObjectsRangesAndMissingKeys() async throws {
        let storage = try TestS3.storage()
        let bytes = pattern(3, size: 1_000_000)
        try await storage.put(key: prefix + "a/original.jpg", bytes: bytes)
        try await storage.put(key: prefix + "a/empty.txt", bytes: [])
        #expect(try await storage.get(key: prefix + "a/empty.txt") == [])
        #expect(try await storage.info(key: prefix + "a/original.jpg")?.size == 1_000_000)
        for range: Range<Int64> in [0..<10, 1000..<2000, 999_990..<1_000_000, 123_457..<654_321] {
            var part: [UInt8] = []
            try await storage.read(key: prefix + "a/original.jpg", range: range, chunkSize: 4096) { part += $0.readableBytesView }
            #expect(part == Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)]), "range \(range)")
        }
        #expect(try await storage.info(key: prefix + "missing") == nil)
        await #expect(throws: StorageError.notFound(prefix + "missing")) {
            try await storage.read(key: prefix + "missing", range: nil, chunkSize: 1024) { _ in }
        }
        try await storage.delete(key: prefix + "missing")  // deleting what is not there is not an error
        let copy = try await storage.withLocalFile(key: prefix + "a/original.jpg") { path in
            try Data(contentsOf: URL(fileURLWithPath: path))
        }
        #expect(Array(copy) == bytes, "workers' local copy of an original")
        try await storage.deletePrefix(prefix + "a/")
        #expect(try await storage.list(prefix: prefix).isEmpty)
    }

    @Test func listingPagesOverMoreThanAThousandKeys() async throws {
        let storage = try TestS3.storage()
        let count = 1_005
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for i in stride(from: lane, to: count, by: 8) {
                        try await storage.put(key: "\(prefix)many/\(String(format: "%05d", i)).txt", bytes: Array("\(i)".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        var pages: [Int] = []
        var keys: [String] = []
        try await storage.listPages(prefix: prefix + "many/", pageSize: 1000) { page in
            pages.append(page.count)
            keys += page.map(\.key)
        }
        #expect(pages == [1000, 5], "S3 gives at most 1,000 keys a page; the continuation token brings the rest")
        #expect(Set(keys).count == count)
        #expect(try await storage.list(prefix: prefix + "many/").count == count)
        #expect(try await storage.list(prefix: prefix + "many/0000").count == 10)
        try await storage.deletePrefix(prefix)
        #expect(try await storage.list(prefix: prefix).isEmpty)
    }

    /// Issue 27, defect 1: every call that carries a query string (list, multipart, presign) is signed as sent, with
    /// the server checking signatures: a media's folder (`media/<uuid>/`) is listed and deleted whole.
    @Test func aMediaFolderIsListedAndDeletedWhole() async throws {
        let storage = try TestS3.storage()
        let folder = "media/\(UUID().uuidString.lowercased())/"
        let keys = [folder + "original.jpg", folder + "g1/thumbnail.jpg", folder + "g1/large.jpg"]
        for key in keys { try await storage.put(key: key, bytes: [1, 2, 3]) }
        #expect(try await storage.list(prefix: folder).sorted() == keys.sorted())
        for other in ["media/A.b_C-9/", "media/\(UUID().uuidString)/deep/er/"] {
            try await storage.put(key: other + "f", bytes: [9])
            #expect(try await storage.list(prefix: other) == [other + "f"], "\(other)")
            try await storage.deletePrefix(other)
        }
        try await storage.deletePrefix(folder)
        #expect(try await storage.list(prefix: folder).isEmpty, "deleted whole")
        // What another S3 client sees: nothing under the folder. (Listed whole: boto3 signs a "/" in a prefix the
        // SigV4 way only, which the test server's moto refuses.)
        #expect(try TestS3.boto3("""
            keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in p.get("Contents", [])]
            sys.exit(1 if any(k.startswith("\(folder)") for k in keys) else 0)
            """) == 0)
    }

    @Test func aRequestSignedWithAWrongSecretIsRefused() async throws {
        let wrong = S3Storage(location: try TestS3.location(secret: "not-the-secret-not-the-secret-not-the-secr"))
        do {
            _ = try await wrong.info(key: prefix + "x")
            // HEAD carries no body: a refused HEAD is a 403 that must not read as "not found".
            Issue.record("a HEAD signed with a wrong secret was not refused")
        } catch let error as StorageError {
            #expect("\(error)".contains("403"), "\(error)")
        }
        await #expect(throws: StorageError.self) { try await wrong.put(key: self.prefix + "x", bytes: [1, 2, 3]) }
        let storage = try TestS3.storage()
        #expect(try await storage.info(key: prefix + "x") == nil, "nothing was written with the wrong secret")
        do {
            try await wrong.put(key: prefix + "x", bytes: [1])
            Issue.record("a PUT signed with a wrong secret was not refused")
        } catch let error as StorageError {
            #expect("\(error)".contains("SignatureDoesNotMatch"), "\(error)")
        }
    }

    /// Objects carry their content type (the store serves them itself behind a redirect or CDN), in a single PUT
    /// and a multipart upload alike; a missing bucket is a store fault, not a missing object a worker gives up on.
    @Test func objectsCarryTheirContentTypeAndAMissingBucketIsNotAMissingObject() async throws {
        let types: [String: String] = ["jpg": "image/jpeg", "mp4": "video/mp4"]
        let storage = S3Storage(location: try TestS3.location(), contentType: { key in
            key.split(separator: ".").last.flatMap { types[String($0)] }
        })
        try await storage.put(key: prefix + "small.jpg", bytes: [1, 2, 3])
        let writer = try await storage.makeWriter(key: prefix + "big.mp4")
        try await writer.write(ByteBuffer(bytes: pattern(4, size: S3Storage.partSize + 10)))
        try await writer.commit()
        for (key, type) in [("small.jpg", "image/jpeg"), ("big.mp4", "video/mp4")] {
            let head = try await storage.send(.HEAD, key: prefix + key)
            #expect(head.status == .ok && head.headers.first(name: "content-type") == type, "\(key): \(head.headers)")
        }
        var elsewhere = try TestS3.location()
        elsewhere.bucket = "no-such-bucket-\(UUID().uuidString.lowercased().prefix(8))"
        do {
            _ = try await S3Storage(location: elsewhere).get(key: prefix + "small.jpg")
            Issue.record("a read from a missing bucket succeeded")
        } catch let error as StorageError {
            #expect(!error.isNotFound && "\(error)".contains("NoSuchBucket"), "\(error)")
        }
        do {
            _ = try await storage.get(key: prefix + "never-written.jpg")
            Issue.record("a missing object was read")
        } catch let error as StorageError {
            #expect(error.isNotFound, "\(error)")
        }
        try await storage.deletePrefix(prefix)
    }

    @Test func objectsAreByteIdenticalBetweenMediaflowAndBoto3() async throws {
        let storage = try TestS3.storage()
        // Mediaflow → boto3: a multipart object (3 parts) and a single PUT.
        var written = SHA256()
        let writer = try await storage.makeWriter(key: prefix + "ours/original.mp4")
        let buffers = (0..<3).map { ByteBuffer(bytes: pattern($0, size: 1 << 20)) }
        for i in 0..<18 {
            written.update(data: Data(buffers[i % 3].readableBytesView))
            try await writer.write(buffers[i % 3])
        }
        try await writer.commit()
        let digest = written.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(try TestS3.boto3("""
            import hashlib
            body = s3.get_object(Bucket=bucket, Key="\(prefix)ours/original.mp4")["Body"].read()
            sys.exit(0 if hashlib.sha256(body).hexdigest() == "\(digest)" and len(body) == \(18 << 20) else 1)
            """) == 0, "boto3 reads back what Mediaflow wrote")
        // boto3 → Mediaflow: upload_file (multipart above 8 MiB by boto3's own rules) and put_object.
        #expect(try TestS3.boto3("""
            data = bytes((i * 131 + (i >> 9)) & 0xff for i in range(9_000_000))
            s3.put_object(Bucket=bucket, Key="\(prefix)theirs/small.bin", Body=data[:70000])
            import io
            s3.upload_fileobj(io.BytesIO(data), bucket, "\(prefix)theirs/large.bin")
            """) == 0)
        let large = pattern(0, size: 9_000_000)
        #expect(try await storage.get(key: prefix + "theirs/large.bin") == large)
        #expect(try await storage.get(key: prefix + "theirs/small.bin") == Array(large[0..<70000]))
        #expect(try await storage.list(prefix: prefix).sorted() == [
            prefix + "ours/original.mp4", prefix + "theirs/large.bin", prefix + "theirs/small.bin",
        ], "keys as written, no staging objects")
        try await storage.deletePrefix(prefix)
    }

    /// moto checks the Authorization header only (a presigned GET fails inside it with a 500), so presigned URLs are
    /// checked against boto3's own presigner instead, at a fixed time: the same URL, signature included. (The AWS
    /// documentation's example is in SigV4SignerTests.)
    @Test func presignedURLsMatchBoto3s() async throws {
        let storage = try TestS3.storage()
        let key = prefix + "p/hello world+1.txt"
        let date = Date(timeIntervalSince1970: 1_767_323_045)  // 2026-01-02T03:04:05Z
        let ours = storage.signer.presignedURL(
            base: storage.location.base, host: storage.location.host, path: storage.location.path(key),
            expires: 600, date: date)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("presigned-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(try TestS3.boto3("""
            import datetime, botocore.auth
            from botocore.config import Config
            class Frozen(datetime.datetime):
                @classmethod
                def utcnow(cls): return cls(2026, 1, 2, 3, 4, 5)
                @classmethod
                def now(cls, tz=None): return cls(2026, 1, 2, 3, 4, 5, tzinfo=tz)
            botocore.auth.datetime.datetime = Frozen
            s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                              aws_access_key_id=os.environ["MEDIA_LOCAL_S3_ACCESS_KEY"],
                              aws_secret_access_key=os.environ["MEDIA_LOCAL_S3_SECRET_KEY"],
                              config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
            url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "\(key)"}, ExpiresIn=600)
            open("\(out)", "w").write(url)
            """) == 0)
        let theirs = try String(contentsOfFile: out, encoding: .utf8)
        func parts(_ url: String) -> (path: String, query: [String: String]) {
            let components = URLComponents(string: url)
            let query = Dictionary((components?.percentEncodedQueryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
            return (components?.percentEncodedPath ?? "", query)
        }
        #expect(parts(ours).path == parts(theirs).path, "\(ours) vs \(theirs)")
        #expect(parts(ours).query == parts(theirs).query, "\(ours) vs \(theirs)")
        #expect(parts(ours).query["X-Amz-Signature"]?.count == 64)
    }
}
