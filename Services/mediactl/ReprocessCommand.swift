import ArgumentParser
import Foundation
import MediaDomain
import Operations
import Persistence

struct ReprocessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprocess",
        abstract: "Process failed media again, as a new generation (a running relay publishes the jobs).",
        discussion: """
            Either one media by id, or every failed media chosen by --status failed and the optional filters:
              mediactl reprocess 42
              mediactl reprocess --status failed --code decode_failed --type image --since 1h
            """)

    @Argument(help: "The media's id.") var mediaId: Int64?
    @Option(help: "Which media: only 'failed' is possible.") var status: String?
    @Option(help: "Only media that failed with this error code.") var code: String?
    @Option(help: "Only media of this type (image, video, audio).") var type: String?
    @Option(help: "Only media that failed within this long (90s, 30m, 6h, 7d).") var since: String?
    @Flag(help: "Show what would be reprocessed; change nothing.") var dryRun = false

    func validate() throws {
        if mediaId != nil, status != nil { throw ValidationError("give a media id or --status failed, not both") }
        if mediaId == nil, status == nil { throw ValidationError("give a media id, or --status failed to choose many") }
        if let status, status != "failed" { throw ValidationError("only failed media can be reprocessed (--status failed)") }
        if let type, FileType(rawValue: type) == nil { throw ValidationError("--type must be image, video or audio") }
        if let since, DurationText.parse(since) == nil { throw ValidationError("--since must be a duration such as 1h") }
    }

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let (mediaId, code, type, since, dryRun) = (mediaId, code, type.flatMap(FileType.init), since, dryRun)
            let lines = try await configuration.withDatabase { _, repository -> [String] in
                let storage = try configuration.common.storage.makeStorage()
                let actions = MediaBulkActions(store: repository, storage: storage, logger: configuration.logger)
                let ids: [Int64]
                if let mediaId {
                    ids = [mediaId]
                } else {
                    let after = since.flatMap(DurationText.parse).map { Date().addingTimeInterval(-Double($0.components.seconds)) }
                    ids = try await repository.failedMediaIds(code: code, type: type, since: after, limit: 100_000)
                }
                if dryRun { return ["would reprocess \(ids.count) media: \(ids.map(String.init).joined(separator: " "))"] }
                let result = try await actions.perform(.reprocess, ids: ids)
                return ["reprocessing \(result.done.count) media: \(result.done.map(String.init).joined(separator: " "))"]
                    + result.skipped.map { "skipped \($0.id): \($0.reason)" }
            }
            for line in lines { print(line) }
        }
    }
}
