import Persistence

/// What one user may take (SPEC §10): storage, upload rate, open streams. Read once from `MEDIA_QUOTA_BYTES`,
/// `MEDIA_UPLOAD_RATE`, `MEDIA_UPLOAD_BURST` and `MEDIA_MAX_STREAMS_PER_USER`.
public struct FairUseSettings: Sendable, Equatable {
    /// The quota of a user staff gave no limit of their own.
    public var defaultQuotaBytes: Int64 = 10 << 30
    /// False (`MEDIA_QUOTA_BYTES=off`): uploads reserve nothing and are never refused for room; the ledger and the
    /// figures are kept all the same.
    public var enforceQuota = true
    /// Uploads per user over time; nil (`off`) lets every upload through.
    public var uploadRate: UploadRate? = UploadRate(count: 300, perSeconds: 60)
    /// How many uploads may come at once (an album shared in one go).
    public var uploadBurst: Int = 100
    /// Open live-status streams per user, across Gateways.
    public var maxStreamsPerUser: Int = 10
    /// How long a plain upload's reservation stands if its Gateway dies before giving it back.
    public var plainUploadReservation: Duration = .seconds(6 * 3600)
    /// A stream whose Gateway has not beaten its heartbeat for this long no longer counts (a Gateway that died).
    public var streamStaleAfter: Duration = .seconds(60)
    /// How often a Gateway beats the heartbeat of its open streams.
    public var streamHeartbeat: Duration = .seconds(20)

    public init() {}
}
