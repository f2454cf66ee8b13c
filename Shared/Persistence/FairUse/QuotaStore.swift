import Foundation

/// A user's storage figures (SPEC §10): what the quota allows, what stored files use, what uploads still arriving
/// have reserved.
public struct QuotaUsage: Sendable, Equatable {
    /// The limit in force: the user's own, or the default (`MEDIA_QUOTA_BYTES`).
    public var limitBytes: Int64
    /// The user's own limit; nil when the default applies.
    public var customLimitBytes: Int64?
    public var usedBytes: Int64
    public var reservedBytes: Int64

    public init(limitBytes: Int64, customLimitBytes: Int64?, usedBytes: Int64, reservedBytes: Int64) {
        self.limitBytes = limitBytes
        self.customLimitBytes = customLimitBytes
        self.usedBytes = usedBytes
        self.reservedBytes = reservedBytes
    }

    /// What one more upload may still take (never below zero: renditions may carry a user past the limit).
    public var availableBytes: Int64 {
        let (taken, overflow) = usedBytes.addingReportingOverflow(reservedBytes)
        guard !overflow, taken < limitBytes else { return 0 }
        return limitBytes - taken
    }
}

/// The answer to a reservation: an id to give back, or the figures that did not leave room.
public enum QuotaReservation: Sendable, Equatable {
    case reserved(UUID)
    case refused(QuotaUsage)
}

/// What `quota_resync` changed (`QuotaStore.resync`).
public struct QuotaCorrection: Sendable, Equatable {
    public var userId: Int64
    public var field: String
    public var was: Int64
    public var now: Int64

    public init(userId: Int64, field: String, was: Int64, now: Int64) {
        self.userId = userId
        self.field = field
        self.was = was
        self.now = now
    }
}

/// Quotas (SPEC §10) behind one seam. Used bytes follow the stored-object ledger by themselves (triggers in PostgreSQL,
/// in the transaction that records or removes a file); this is the rest: the limit, and reservations, which an upload
/// takes at its start in one short statement and gives back at its end, so no row lock is held while bytes arrive and
/// a user's uploads never wait on each other.
public protocol QuotaStore: Sendable {
    /// The user's figures, with `defaultLimit` where the user has no limit of their own. Reservations past their
    /// expiry are not counted.
    func usage(userId: Int64, defaultLimit: Int64) async throws -> QuotaUsage
    /// Sets the user's own limit (nil: the default again).
    func setLimit(userId: Int64, limitBytes: Int64?) async throws
    /// Reserves `bytes` under `id` (a resumable upload uses its own id) until `expiresAt` if used + reserved + bytes
    /// stays within the limit: atomically, so two Gateways reserving for one user at once can never both take the
    /// last room.
    func reserve(id: UUID, userId: Int64, bytes: Int64, defaultLimit: Int64, expiresAt: Date) async throws -> QuotaReservation
    /// Grows a reservation by `bytes` under the same rule (a body without `Content-Length`); false when it does not fit.
    func grow(_ reservation: UUID, userId: Int64, by bytes: Int64, defaultLimit: Int64) async throws -> Bool
    /// Gives a reservation back (the upload failed, or was terminated). Releasing twice is harmless.
    func release(_ reservation: UUID) async throws
    /// The upload whose reservation is named after its media's folder became that media. In PostgreSQL the row's own
    /// insert settled it (the ledger trigger), so there is nothing left to do; a store without that trigger gives it
    /// back here.
    func settled(_ reservation: UUID) async throws
    /// Gives back every reservation past its expiry (a Gateway that died mid-upload, an expired resumable upload).
    func releaseExpired() async throws -> Int
    /// Every stored-object ledger key under `keys` with the bytes the ledger holds for it.
    func ledgerBytes(keys: [String]) async throws -> [String: Int64]
    /// Makes the ledger say what storage holds: `sizes` are keys found in storage with their real sizes; rows created
    /// before `before` whose key storage does not hold (`missing`) are removed. Returns the rows changed.
    func correctLedger(sizes: [String: Int64], missing: [String]) async throws -> Int
    /// Ledger keys of rows created before `before`, a page at a time in key order, after `after`.
    func ledgerKeys(after: String, before: Date, limit: Int) async throws -> [String]
    /// Sets every user's counters to what the ledger and the live reservations say, and returns each counter that
    /// was off.
    func resyncCounters() async throws -> [QuotaCorrection]
}
