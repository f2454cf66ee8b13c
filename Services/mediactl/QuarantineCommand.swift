import ArgumentParser
import Foundation
import MediaDomain
import Operations
import Persistence

/// Media whose original a malware scan found infected (SPEC §13): list them, release (the original back, processed
/// without a scan) or delete them, as the admin console does.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List, release or delete media whose original was found infected (malware_detected).",
        discussion: """
              mediactl quarantine list
              mediactl quarantine release 42 43     copy the originals back and process them without a scan
              mediactl quarantine delete 44         the media, its files and its quarantined original
            """,
        subcommands: [List.self, Release.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Media failed with malware_detected, oldest first.")
        @Option(help: "At most this many.") var limit = 1000

        func run() async throws {
            try await mediactl.run {
                let configuration = try MediaCtlConfiguration()
                let limit = limit
                let lines = try await configuration.withDatabase { _, repository -> [String] in
                    var lines: [String] = []
                    for id in try await repository.failedMediaIds(code: Quarantine.errorCode, type: nil, since: nil, limit: limit) {
                        guard let media = try await repository.find(id: id) else { continue }
                        let message = media.metadata["error"]?.objectValue?["message"]?.stringValue ?? ""
                        lines.append("\(media.id)\tuser \(media.userId)\t\(media.originalFilename)\t\(message)")
                    }
                    return lines.isEmpty ? ["no media in quarantine"] : lines
                }
                for line in lines { print(line) }
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy quarantined originals back and process them without a malware scan (a running relay publishes the jobs).")
        @Argument(help: "Media ids.") var ids: [Int64]

        func run() async throws { try await perform(.release, ids: ids, verb: "released") }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete quarantined media, their files and quarantined originals.")
        @Argument(help: "Media ids.") var ids: [Int64]

        func run() async throws { try await perform(.delete, ids: ids, verb: "deleted") }
    }
}

/// Scans and processes media again as a new generation (SPEC §13's rescan on demand).
struct RescanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescan",
        abstract: "Scan ready or failed media again and process them anew (a running relay publishes the jobs).")
    @Argument(help: "Media ids.") var ids: [Int64]

    func run() async throws { try await perform(.rescan, ids: ids, verb: "rescanning") }
}

/// One staff action on the named media, through the same `MediaBulkActions` as the console and the staff API.
private func perform(_ action: BulkAction, ids: [Int64], verb: String) async throws {
    try await mediactl.run {
        let configuration = try MediaCtlConfiguration()
        let lines = try await configuration.withDatabase { _, repository -> [String] in
            let storage = try configuration.common.storage.makeStorage()
            let result = try await MediaBulkActions(store: repository, storage: storage, logger: configuration.logger)
                .perform(action, ids: ids)
            return ["\(verb) \(result.done.count) media: \(result.done.map(String.init).joined(separator: " "))"]
                + result.skipped.map { "skipped \($0.id): \($0.reason)" }
        }
        for line in lines { print(line) }
    }
}
