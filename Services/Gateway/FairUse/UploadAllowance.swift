import Foundation
import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Metrics
import Persistence
import Tokens

/// The two questions every upload (plain, or a tus creation) is asked before a byte of it is stored (SPEC §10): may
/// this user upload now (the rate limit), and is there room for it (the quota).
///
/// Both are answered in PostgreSQL, so every Gateway shares one budget and one quota per user. A database that
/// cannot answer is a 503 `unavailable`: never "allowed because we could not check", never a 500.
package struct UploadAllowance: Sendable {
    package let quotas: any QuotaStore
    package let rates: any UploadRateStore
    package let settings: FairUseSettings
    /// A store call still unanswered after this is given up (503) rather than holding the upload.
    package let deadline: Duration
    private let quotaRefusals = Counter(label: "mediaflow_quota_refusals_total")

    package init(quotas: any QuotaStore, rates: any UploadRateStore, settings: FairUseSettings, deadline: Duration = .seconds(3)) {
        self.quotas = quotas
        self.rates = rates
        self.settings = settings
        self.deadline = deadline
    }

    /// Charges one upload to the user's rate budget. Returns the `RateLimit-*` headers for the answer, whatever it is;
    /// throws 429 `rate_limited` (with them and `Retry-After`) when the budget is spent. Staff, and `off`, are not
    /// limited and get no headers.
    package func chargeUpload(_ user: AuthenticatedUser, route: String, logger: Logger) async throws -> HTTPFields {
        guard !user.isStaff, let rate = settings.uploadRate else { return [:] }
        let burst = settings.uploadBurst
        let decision = try await asking(logger, "the upload rate") {
            try await rates.take(userId: user.id, rate: rate, burst: burst)
        }
        var headers = HTTPFields()
        headers.set("RateLimit-Limit", String(decision.limit))
        headers.set("RateLimit-Remaining", String(decision.remaining))
        headers.set("RateLimit-Reset", String(decision.resetSeconds))
        guard decision.allowed else {
            Counter(label: "mediaflow_rate_limited_total", dimensions: [("route", route)]).increment()
            logger.info("upload refused: rate limit", metadata: [
                "user_id": "\(user.id)", "rate": "\(rate)", "burst": "\(burst)", "retry_after": "\(decision.retryAfterSeconds)",
            ])
            headers[.retryAfter] = String(decision.retryAfterSeconds)
            throw APIError(.tooManyRequests, code: "rate_limited",
                           detail: "Too many uploads: \(rate) with bursts of \(burst). Try again in \(decision.retryAfterSeconds) s.",
                           headers: headers)
        }
        return headers
    }

    /// Reserves `bytes` of the user's quota under `id` until `expiresAt`; 413 `quota_exceeded` when they do not fit.
    package func reserve(_ user: AuthenticatedUser, bytes: Int64, id: UUID = UUID(), expiresAt: Date? = nil,
                         logger: Logger) async throws -> UUID {
        guard settings.enforceQuota else { return id }
        let until = expiresAt ?? Date().addingTimeInterval(Double(settings.plainUploadReservation.components.seconds))
        let limit = settings.defaultQuotaBytes
        let answer = try await asking(logger, "the quota") {
            try await quotas.reserve(id: id, userId: user.id, bytes: bytes, defaultLimit: limit, expiresAt: until)
        }
        switch answer {
        case .reserved(let id):
            return id
        case .refused(let usage):
            throw refusal(user, wanted: bytes, usage: usage, logger: logger)
        }
    }

    /// Grows a reservation as a body without `Content-Length` streams in: by `step` when that fits, else by just `need`
    /// (a user near the limit can still send a small file); 413 `quota_exceeded` when not even that fits. Returns the
    /// bytes added.
    package func grow(_ reservation: UUID, of user: AuthenticatedUser, step: Int64, need: Int64, total: Int64,
                      logger: Logger) async throws -> Int64 {
        guard settings.enforceQuota else { return step }
        let limit = settings.defaultQuotaBytes
        for bytes in step > need ? [step, need] : [need] {
            let grown = try await asking(logger, "the quota") {
                try await quotas.grow(reservation, userId: user.id, by: bytes, defaultLimit: limit)
            }
            if grown { return bytes }
        }
        let usage = try await asking(logger, "the quota") { try await quotas.usage(userId: user.id, defaultLimit: limit) }
        throw refusal(user, wanted: total, usage: usage, logger: logger)
    }

    /// Gives a reservation back. Never fails the request: a reservation left behind lapses at its expiry (and the
    /// next reservation of the user that finds no room gives lapsed ones back first).
    package func release(_ reservation: UUID, logger: Logger) async {
        guard settings.enforceQuota else { return }
        do {
            try await withDatabaseDeadline(deadline) { try await quotas.release(reservation) }
        } catch {
            logger.warning("quota reservation not given back; it lapses at its expiry", metadata: [
                "reservation": "\(reservation)", "error": "\(DatabaseFailure.describe(error))",
            ])
        }
    }

    /// The upload whose reservation is named after its media's folder became that media: in PostgreSQL the row's
    /// insert already gave the reservation back; a store without that trigger does it now.
    package func settled(_ reservation: UUID, logger: Logger) async {
        guard settings.enforceQuota else { return }
        do {
            try await withDatabaseDeadline(deadline) { try await quotas.settled(reservation) }
        } catch {
            logger.warning("quota reservation not settled; it lapses at its expiry", metadata: [
                "reservation": "\(reservation)", "error": "\(DatabaseFailure.describe(error))",
            ])
        }
    }

    private func refusal(_ user: AuthenticatedUser, wanted: Int64, usage: QuotaUsage, logger: Logger) -> APIError {
        quotaRefusals.increment()
        logger.info("upload refused: quota", metadata: [
            "user_id": "\(user.id)", "wanted": "\(wanted)", "limit": "\(usage.limitBytes)", "used": "\(usage.usedBytes)",
            "reserved": "\(usage.reservedBytes)",
        ])
        return APIError(
            .contentTooLarge, code: "quota_exceeded",
            detail: "This upload (\(ByteCount.describe(wanted))) does not fit in your storage quota: "
                + "\(ByteCount.describe(usage.availableBytes)) of \(ByteCount.describe(usage.limitBytes)) left.")
    }

    /// A store call, bounded by the deadline; an outage becomes 503 `unavailable`.
    private func asking<T: Sendable>(_ logger: Logger, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await fairUseCheck(what, refusing: "upload", deadline: deadline, logger: logger, body)
    }
}
