import ArgumentParser
import Foundation
import MediaDomain
import Persistence

/// `mediactl quota show|set` (SPEC §10): a user's storage quota, as staff see and set it in the admin console.
struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota", abstract: "Show or set a user's storage quota (SPEC §10).",
        subcommands: [ShowQuota.self, SetQuota.self])
}

struct ShowQuota: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a user's quota: limit, used, reserved and available bytes.")

    @Option(help: "The user's id (users exist only in tokens: any id names one).") var userId: Int64
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard userId > 0 else { throw ValidationError("--user-id must be a positive integer") }
    }

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let (userId, defaultLimit) = (self.userId, configuration.common.quotaBytes)
            let logger = configuration.logger
            let usage = try await configuration.withDatabase { client, _ in
                try await PostgresQuotaStore(client: client, logger: logger).usage(userId: userId, defaultLimit: defaultLimit)
            }
            print(QuotaFigures(userId: userId, usage: usage).text(json: json))
        }
    }
}

struct SetQuota: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set a user's storage limit, then print their quota.")

    @Option(help: "The user's id (users exist only in tokens: any id names one).") var userId: Int64
    @Option(help: "The limit: an integer of bytes, 0 or more, or 'default' for MEDIA_QUOTA_BYTES.") var limitBytes: String
    @Flag(help: "Print JSON.") var json = false

    /// The limit asked for: nil for the default.
    static func parseLimit(_ text: String) throws -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "default" { return nil }
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }), let bytes = Int64(trimmed) else {
            throw ValidationError(
                "--limit-bytes must be an integer of bytes from 0 to 9223372036854775807, or 'default'; got '\(text)'")
        }
        return bytes
    }

    func validate() throws {
        guard userId > 0 else { throw ValidationError("--user-id must be a positive integer") }
        _ = try Self.parseLimit(limitBytes)
    }

    func run() async throws {
        let limit = try Self.parseLimit(limitBytes)
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let (userId, defaultLimit) = (self.userId, configuration.common.quotaBytes)
            let logger = configuration.logger
            let usage = try await configuration.withDatabase { client, _ -> QuotaUsage in
                let quotas = PostgresQuotaStore(client: client, logger: logger)
                try await quotas.setLimit(userId: userId, limitBytes: limit)
                return try await quotas.usage(userId: userId, defaultLimit: defaultLimit)
            }
            print(QuotaFigures(userId: userId, usage: usage).text(json: json))
        }
    }
}

/// A user's quota as mediactl prints it.
struct QuotaFigures {
    let userId: Int64
    let usage: QuotaUsage

    func text(json: Bool) -> String {
        let isDefault = usage.customLimitBytes == nil
        if json {
            return #"{"user_id":\#(userId),"limit_bytes":\#(usage.limitBytes),"is_default":\#(isDefault),"#
                + #""used_bytes":\#(usage.usedBytes),"reserved_bytes":\#(usage.reservedBytes),"#
                + #""available_bytes":\#(usage.availableBytes)}"#
        }
        return """
            user \(userId)
              limit_bytes:     \(usage.limitBytes) (\(ByteCount.describe(usage.limitBytes)))\(isDefault ? ", the default (MEDIA_QUOTA_BYTES)" : "")
              used_bytes:      \(usage.usedBytes) (\(ByteCount.describe(usage.usedBytes)))
              reserved_bytes:  \(usage.reservedBytes) (\(ByteCount.describe(usage.reservedBytes)))
              available_bytes: \(usage.availableBytes) (\(ByteCount.describe(usage.availableBytes)))
            """
    }
}
