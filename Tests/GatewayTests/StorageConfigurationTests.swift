import ServiceCore
import ServiceKit
import Storage
import Testing

/// `MEDIA_STORAGE` and the credentials that go with it (SPEC §9; issue 27, defect 10: temporary credentials).
@Suite("Storage configuration")
struct StorageConfigurationTests {
    let url = "s3://bucket?endpoint=http://127.0.0.1:9000"

    @Test func temporaryCredentialsCarryTheirSessionToken() throws {
        let aws = try StorageConfiguration(url, environment: Environment([
            "AWS_ACCESS_KEY_ID": "ASIA1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "token-1",
        ]))
        guard case .s3(let location) = aws else { Issue.record("not S3"); return }
        #expect(location.accessKey == "ASIA1" && location.sessionToken == "token-1")
        // MEDIA_S3_* keys take MEDIA_S3_SESSION_TOKEN, never a token that belongs to the AWS_* keys.
        let own = try StorageConfiguration(url, environment: Environment([
            "MEDIA_S3_ACCESS_KEY": "k", "MEDIA_S3_SECRET_KEY": "s", "AWS_SESSION_TOKEN": "not-mine",
        ]))
        guard case .s3(let mine) = own else { Issue.record("not S3"); return }
        #expect(mine.accessKey == "k" && mine.sessionToken == nil)
        let withToken = try StorageConfiguration(url, environment: Environment([
            "MEDIA_S3_ACCESS_KEY": "k", "MEDIA_S3_SECRET_KEY": "s", "MEDIA_S3_SESSION_TOKEN": "token-2",
        ]))
        guard case .s3(let theirs) = withToken else { Issue.record("not S3"); return }
        #expect(theirs.sessionToken == "token-2")
    }
}
