import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Persistence

/// `GET /api/media/quota/` (the caller's figures) and `PUT /api/admin/users/{id}/quota/` (staff set a user's limit),
/// SPEC §10.
package struct QuotaController: Sendable {
    package let quotas: any QuotaStore
    package let defaultLimit: Int64

    package init(quotas: any QuotaStore, defaultLimit: Int64) {
        self.quotas = quotas
        self.defaultLimit = defaultLimit
    }

    package func addRoutes(user: RouterGroup<GatewayRequestContext>, staff: RouterGroup<GatewayRequestContext>) {
        user.get("quota", use: ownQuota)
        user.methodNotAllowed("quota", allow: [.get, .head])
        staff.get("users/:id/quota", use: userQuota)
        staff.put("users/:id/quota", use: setUserQuota)
        staff.methodNotAllowed("users/:id/quota", allow: [.get, .head, .put])
    }

    /// The answer of both routes (the staff one names the user too).
    package struct QuotaResource: Encodable {
        let user_id: Int64?
        let limit_bytes: Int64
        let used_bytes: Int64
        let reserved_bytes: Int64
        let available_bytes: Int64
        /// True when the user has no limit of their own (`MEDIA_QUOTA_BYTES` applies).
        let is_default: Bool?

        package init(_ usage: QuotaUsage, userId: Int64? = nil) {
            user_id = userId
            limit_bytes = usage.limitBytes
            used_bytes = usage.usedBytes
            reserved_bytes = usage.reservedBytes
            available_bytes = usage.availableBytes
            is_default = userId == nil ? nil : usage.customLimitBytes == nil
        }

        enum CodingKeys: String, CodingKey {
            case user_id, limit_bytes, used_bytes, reserved_bytes, available_bytes, is_default
        }

        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(user_id, forKey: .user_id)
            try c.encode(limit_bytes, forKey: .limit_bytes)
            try c.encode(used_bytes, forKey: .used_bytes)
            try c.encode(reserved_bytes, forKey: .reserved_bytes)
            try c.encode(available_bytes, forKey: .available_bytes)
            try c.encodeIfPresent(is_default, forKey: .is_default)
        }
    }

    @Sendable package func ownQuota(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try json(QuotaResource(try await quotas.usage(userId: user.id, defaultLimit: defaultLimit)))
    }

    @Sendable package func userQuota(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let userId = try Self.userId(context)
        return try json(QuotaResource(try await quotas.usage(userId: userId, defaultLimit: defaultLimit), userId: userId))
    }

    @Sendable package func setUserQuota(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let userId = try Self.userId(context)
        let body = try await JSONRequestBody(request, example: #"{"limit_bytes": 53687091200}"#)
        let limit = try Self.limit(body.fields["limit_bytes"])
        try await quotas.setLimit(userId: userId, limitBytes: limit)
        let staff = try context.requireUser()
        context.logger.notice("quota set", metadata: [
            "user_id": "\(userId)", "limit_bytes": "\(limit.map(String.init) ?? "default")", "by": "\(staff.username)",
        ])
        return try json(QuotaResource(try await quotas.usage(userId: userId, defaultLimit: defaultLimit), userId: userId))
    }

    /// `limit_bytes`: an integer ≥ 0, or `null` for the default; absent, negative, fractional, a string, or beyond
    /// 2^63 - 1 (which JSON parses as a fraction-capable number) is 400.
    package static func limit(_ value: JSONValue?) throws -> Int64? {
        switch value {
        case .null:
            return nil
        case .int(let bytes) where bytes >= 0:
            return bytes
        case .none:
            throw APIError.badRequest("invalid_limit", "Send limit_bytes: an integer of bytes ≥ 0, or null for the default.")
        default:
            throw APIError.badRequest(
                "invalid_limit", "limit_bytes must be an integer of bytes from 0 to 9223372036854775807, or null for the default.")
        }
    }

    /// Users exist only in tokens: any positive integer names one.
    private static func userId(_ context: GatewayRequestContext) throws -> Int64 {
        try RouteParameters.id(context)
    }
}
