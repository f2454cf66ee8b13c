import ArgumentParser
import Foundation
import MediaDomain
import Operations
import Persistence

struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead", abstract: "Look into the dead queues and replay what failed (SPEC §6).",
        subcommands: [ListDead.self, ReplayDead.self])
}

struct ListDead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Dead letters grouped by queue and failure code, with the oldest and newest.")

    @Option(help: "One dead queue (image-service or image-service.dead); all when omitted.") var queue: String?
    @Flag(help: "JSON instead of a table.") var json = false

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let selection = DeadLetterSelection(queue: queue)
            // The letters as the Janitor recorded them when they were parked.
            let (groups, count, letters) = try await configuration.withDatabase { client, repository in
                let deadLetters = DeadLetters(
                    store: PostgresDeadLetterStore(client: client, logger: configuration.logger), broker: nil,
                    media: repository, operations: repository, logger: configuration.logger)
                let groups = try await deadLetters.groups(selection)
                let (count, letters) = try await deadLetters.list(selection, offset: 0, limit: json ? 10_000 : 0)
                return (groups, count, letters)
            }
            if json {
                print(DeadLetterJSON.groups(groups, count: count, letters: letters))
                return
            }
            guard !groups.isEmpty else {
                print("no dead letters")
                return
            }
            let rows = [["queue", "code", "count", "oldest", "newest"]] + groups.map {
                [$0.queue, $0.code, String($0.count), $0.oldest?.ISO8601Format() ?? "-", $0.newest?.ISO8601Format() ?? "-"]
            }
            let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
            print("\(count) dead letter\(count == 1 ? "" : "s")")
        }
    }
}

struct ReplayDead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Republish dead letters to where they first went, with a fresh attempt count.",
        discussion: """
            Choose with --queue, --code, --event-id (repeatable), or --all; filters combine. Messages of deleted media,
            of an older generation or of a media already ready are skipped with the reason and removed. The media of a
            replayed job goes back to processing.
            """)

    @Option(help: "One dead queue (image-service or image-service.dead).") var queue: String?
    @Option(help: "Only dead letters with this failure code.") var code: String?
    @Option(name: .customLong("event-id"), help: "Only these event ids (repeatable).") var eventIds: [String] = []
    @Flag(help: "Everything in the chosen queues (required when nothing else chooses).") var all = false
    @Option(help: "At most this many.") var limit: Int?
    @Flag(help: "Show what would be replayed and skipped; change nothing.") var dryRun = false

    func validate() throws {
        if queue == nil, code == nil, eventIds.isEmpty, !all {
            throw ValidationError("choose what to replay: --queue, --code, --event-id, or --all")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let selection = DeadLetterSelection(queue: queue, code: code, eventIds: Set(eventIds), all: all, limit: limit)
            let dryRun = self.dryRun
            let report = try await configuration.withDatabase { client, repository in
                try await configuration.withBroker { broker in
                    try await DeadLetters(
                        store: PostgresDeadLetterStore(client: client, logger: configuration.logger), broker: broker,
                        media: repository, operations: repository, logger: configuration.logger
                    ).replay(selection, dryRun: dryRun)
                }
            }
            let verb = dryRun ? "would replay" : "replayed"
            print("\(verb) \(report.replayed.count)\(report.replayed.isEmpty ? "" : ": " + report.replayed.joined(separator: " "))")
            for skip in report.skipped {
                print("\(dryRun ? "would skip" : "skipped") \(skip.eventId): \(skip.reason)")
            }
        }
    }
}

/// The JSON of `dead list --json`: the groups in the staff API's shape, and every dead letter.
enum DeadLetterJSON {
    static func groups(_ groups: [DeadLetterGroup], count: Int, letters: [DeadLetter]) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("groups")
        w.beginArray()
        for group in groups { group.write(to: &w) }
        w.endArray()
        w.key("count"); w.int(count)
        w.key("results")
        w.beginArray()
        for letter in letters { letter.write(to: &w) }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
