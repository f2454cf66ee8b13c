import Foundation
@testable import Storage
import Testing

/// The worked examples of AWS's "Signature Version 4 for S3" documentation (header and query-string forms), with
/// its example account: the signer must produce their signatures byte for byte.
@Suite("SigV4 signer")
struct SigV4SignerTests {
    let signer = SigV4Signer(
        accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    /// 20130524T000000Z
    let date = Date(timeIntervalSince1970: 1_369_353_600)
    let host = "examplebucket.s3.amazonaws.com"

    func signature(_ headers: [String: String]) -> String? {
        headers["authorization"]?.components(separatedBy: "Signature=").last
    }

    @Test func getObjectWithRange() {
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: ["host": host, "range": "bytes=0-9"],
            payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObjectWithAnEncodedKeyAndSignedPayload() {
        let body = Data("Welcome to Amazon S3.".utf8)
        let payload = SigV4Signer.sha256Hex(body)
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let headers = signer.sign(
            method: "PUT", path: "/test$file.text", query: [],
            headers: ["host": host, "date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"],
            payloadHash: payload, date: date)
        #expect(signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func getBucketLifecycleWithAnEmptyQueryValue() {
        let headers = signer.sign(
            method: "GET", path: "/", query: [("lifecycle", "")], headers: ["host": host],
            payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(signature(headers) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjectsWithQueryOutOfOrder() {
        let headers = signer.sign(
            method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: ["host": host],
            payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(signature(headers) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    /// Temporary credentials (defect 10): the session token is a signed header, and a query parameter of presigned URLs.
    @Test func aSessionTokenIsSignedAndPresigned() throws {
        let temporary = SigV4Signer(accessKey: "ASIAEXAMPLE", secretKey: "secret", sessionToken: "tok/en+=", region: "us-east-1")
        let headers = temporary.sign(method: "GET", path: "/b/k", query: [], headers: ["host": host],
                                     payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(headers["x-amz-security-token"] == "tok/en+=")
        #expect(headers["authorization"]?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)
        let plain = signer.sign(method: "GET", path: "/b/k", query: [], headers: ["host": host],
                                payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(plain["x-amz-security-token"] == nil && plain["authorization"]?.contains("security-token") == false)
        let url = temporary.presignedURL(base: "https://\(host)", host: host, path: "/k", expires: 60, date: date)
        #expect(url.contains("&X-Amz-Security-Token=tok%2Fen%2B%3D&"), "\(url)")
        let location = try S3Location(url: "s3://bucket?endpoint=http://127.0.0.1:9", accessKey: "a", secretKey: "b",
                                      sessionToken: "t")
        #expect(location.sessionToken == "t")
    }

    /// The query written the way the store checks it: SigV4's %2F, or a "/" left as it is (a store that decodes it).
    @Test func theQueryIsWrittenInEitherStyle() {
        let query = [("prefix", "media/a b/"), ("list-type", "2")]
        #expect(SigV4Signer.canonicalQuery(query) == "list-type=2&prefix=media%2Fa%20b%2F")
        #expect(SigV4Signer.canonicalQuery(query, style: .literalSlash) == "list-type=2&prefix=media/a%20b/")
    }

    @Test func presignedGet() {
        let url = signer.presignedURL(
            base: "https://\(host)", host: host, path: "/test.txt", expires: 86400, date: date)
        #expect(url == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func locationsInBothStyles() throws {
        let pathStyle = try S3Location(
            url: "s3://media-bucket?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true",
            accessKey: "a", secretKey: "b")
        #expect(pathStyle.base == "http://127.0.0.1:9000")
        #expect(pathStyle.path("media/x/original.jpg") == "/media-bucket/media/x/original.jpg")
        #expect(pathStyle.region == "eu-west-1")
        let virtual = try S3Location(url: "s3://media-bucket?region=eu-west-1", accessKey: "a", secretKey: "b")
        #expect(virtual.base == "https://media-bucket.s3.eu-west-1.amazonaws.com")
        #expect(virtual.path("media/x/original.jpg") == "/media/x/original.jpg")
        #expect(virtual.path(nil) == "/")
        #expect(throws: StorageError.self) { try S3Location(url: "s3://media-bucket?endpoint=http://h", accessKey: "", secretKey: "") }
        #expect(throws: StorageError.self) { try S3Location(url: "s3://b?path_style=maybe", accessKey: "a", secretKey: "b") }
        #expect(throws: StorageError.self) { try S3Location(url: "s3://media-bucket?color=red", accessKey: "a", secretKey: "b") }
    }
}
