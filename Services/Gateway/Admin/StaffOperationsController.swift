import Foundation
import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Messaging
import Operations
import Persistence
import Storage

/// The staff API of SPEC §6 and §7 that operations need: dead letters and their replay, bulk actions on any user's
/// media, and the Janitor's runs. Behind `AuthenticationMiddleware` and `StaffOnlyMiddleware`; each route calls the
/// one implementation in `Operations` that `mediactl` calls too.
package struct StaffOperationsController: Sendable {
    package let deadLetters: DeadLetters
    package let bulk: MediaBulkActions
    package let janitor: JanitorRequests
    package let operations: any OperationsStore
    package let links: MediaLinks

    package init(deadLetters: DeadLetters, bulk: MediaBulkActions, janitor: JanitorRequests, operations: any OperationsStore, links: MediaLinks) {
        self.deadLetters = deadLetters
        self.bulk = bulk
        self.janitor = janitor
        self.operations = operations
        self.links = links
    }

    package func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.get("media", use: listMedia)
        group.methodNotAllowed("media", allow: [.get, .head])
        group.get("dead-letters", use: listDeadLetters)
        group.post("dead-letters/replay", use: replayDeadLetters)
        group.post("media/bulk", use: bulkAction)
        group.get("janitor/runs", use: janitorRuns)
        group.post("janitor/run", use: runJanitorTask)
        group.methodNotAllowed("dead-letters", allow: [.get, .head])
        group.methodNotAllowed("dead-letters/replay", allow: [.post])
        group.methodNotAllowed("media/bulk", allow: [.post])
        group.methodNotAllowed("janitor/runs", allow: [.get, .head])
        group.methodNotAllowed("janitor/run", allow: [.post])
    }

    /// Every user's media, newest first, paged like SPEC §1.3, with §7's filters: `type`, `status`, `user`, `q` (file
    /// or owner name), `created_after`, `created_before`.
    @Sendable package func listMedia(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let params = try StaffMediaFilter.parameters(request)
        var filter = try StaffMediaFilter(params, dialect: .api)
        let paging = try Pagination(page: params["page"], pageSize: params["page_size"])
        filter.query.offset = paging.offset
        filter.query.limit = paging.size
        let (count, items) = try await operations.staffMedia(filter.query)
        try paging.requireExists(count: count)
        let (next, previous) = paging.neighbours(count: count) {
            links.apiURL("/api/admin/media/", query: paging.query($0, filters: filter.echoed))
        }
        var w = JSONWriter()
        Page(count: count, next: next, previous: previous, results: items.map { MediaResource($0, links: links) }).write(to: &w)
        return jsonResponse(w)
    }

    /// `{groups, count, next, previous, results}`: the groups of every dead letter chosen, and one page of them.
    @Sendable package func listDeadLetters(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let params = request.uri.queryParameters
        let queue = params["queue"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let code = params["code"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let code, code.count > 100 { throw APIError.badRequest("invalid_filter", "code is at most 100 characters.") }
        let paging = try Pagination(page: params["page"].map(String.init), pageSize: params["page_size"].map(String.init))
        let selection = DeadLetterSelection(queue: queue, code: code)
        let groups: [DeadLetterGroup], count: Int, letters: [DeadLetter]
        do {
            groups = try await deadLetters.groups(selection)
            (count, letters) = try await deadLetters.list(selection, offset: paging.offset, limit: paging.size)
        } catch let error as OperationsError {
            throw APIError.badRequest("invalid_filter", error.description)
        }
        try paging.requireExists(count: count)
        var filters: [(String, String)] = []
        if let queue { filters.append(("queue", queue)) }
        if let code { filters.append(("code", code)) }
        let (next, previous) = paging.neighbours(count: count) {
            links.apiURL("/api/admin/dead-letters/", query: paging.query($0, filters: filters))
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("groups")
        w.beginArray()
        for group in groups { group.write(to: &w) }
        w.endArray()
        Pagination.write(to: &w, count: count, next: next, previous: previous) { w in
            for letter in letters { letter.write(to: &w) }
        }
        w.endObject()
        return jsonResponse(w)
    }

    /// `{queue?, code?, event_ids?, all?, limit?, dry_run?}` → `{replayed, replayed_event_ids, skipped: [{event_id, reason}], dry_run}`.
    @Sendable package func replayDeadLetters(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await JSONRequestBody(request, example: #"{"queue": "image-service", "code": "storage_unavailable"}"#)
        let eventIds = Set(try body.strings("event_ids", required: false) ?? [])
        var limit: Int?
        if let value = body.fields["limit"] {
            guard case .int(let n) = value, (1...1_000_000).contains(n) else {
                throw APIError.badRequest("invalid_request", "The field 'limit' must be an integer from 1 to 1000000.")
            }
            limit = Int(n)
        }
        let selection = DeadLetterSelection(
            queue: try body.string("queue", required: false), code: try body.string("code", required: false),
            eventIds: eventIds, all: try body.bool("all", required: false) ?? false, limit: limit)
        guard !selection.isEmpty else {
            throw APIError.badRequest("invalid_request", "Choose what to replay: queue, code, event_ids, or all: true.")
        }
        let dryRun = try body.bool("dry_run", required: false) ?? false
        let report: ReplayReport
        do {
            report = try await deadLetters.replay(selection, dryRun: dryRun)
        } catch let error as OperationsError {
            throw APIError.badRequest("invalid_request", error.description)
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("replayed"); w.int(report.replayed.count)
        w.key("replayed_event_ids")
        w.beginArray()
        for id in report.replayed { w.string(id) }
        w.endArray()
        w.key("skipped")
        w.beginArray()
        for skip in report.skipped {
            w.beginObject()
            w.key("event_id"); w.string(skip.eventId)
            w.key("reason"); w.string(skip.reason)
            w.endObject()
        }
        w.endArray()
        w.key("dry_run"); w.bool(dryRun)
        w.endObject()
        return jsonResponse(w)
    }

    /// `{action, ids}` → `{done: [...], skipped: [{id, reason}]}`.
    @Sendable package func bulkAction(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await JSONRequestBody(request, example: #"{"action": "reprocess", "ids": [1, 2]}"#)
        guard let name = try body.string("action", required: true), let action = BulkAction(rawValue: name) else {
            throw APIError.badRequest(
                "invalid_request", "The field 'action' must be one of \(BulkAction.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard case .array(let items)? = body.fields["ids"], !items.isEmpty, items.count <= MediaBulkActions.maxIds else {
            throw APIError.badRequest(
                "invalid_request", "The field 'ids' must be an array of 1 to \(MediaBulkActions.maxIds) media ids.")
        }
        let ids = items.compactMap { item -> Int64? in
            if case .int(let id) = item, id > 0 { return id }
            return nil
        }
        guard ids.count == items.count else {
            throw APIError.badRequest("invalid_request", "Every id must be a positive integer.")
        }
        let result = try await bulk.perform(action, ids: ids)
        var w = JSONWriter()
        w.beginObject()
        w.key("action"); w.string(action.rawValue)
        w.key("done")
        w.beginArray()
        for id in result.done { w.int(id) }
        w.endArray()
        w.key("skipped")
        w.beginArray()
        for skip in result.skipped {
            w.beginObject()
            w.key("id"); w.int(skip.id)
            w.key("reason"); w.string(skip.reason)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return jsonResponse(w)
    }

    /// `?task=&limit=` → `{results: [run...]}`, newest first.
    @Sendable package func janitorRuns(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let params = request.uri.queryParameters
        let task = params["task"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let task, JanitorTaskName(rawValue: task) == nil {
            throw APIError.badRequest("invalid_filter", "Unknown task '\(task)'.")
        }
        let limit = min(try Pagination.positiveInt(params["limit"].map(String.init), name: "limit", default: 50), 500)
        let runs = try await operations.janitorRuns(task: task, limit: limit)
        var w = JSONWriter()
        w.beginObject()
        w.key("results")
        w.beginArray()
        for run in runs { Self.write(run, to: &w) }
        w.endArray()
        w.endObject()
        return jsonResponse(w)
    }

    /// `{task, dry_run?}` → asks the acting Janitor to run the task: 200 with the run once it finished (within
    /// `janitorAnswerWait`), else 202 with the run as it stands (`requested`, or `running`; at once when no Janitor
    /// consumes the commands); `GET /api/admin/janitor/runs/` shows it later. The wait is short because a request held longer is one a client or
    /// proxy gives up on (before, 30 s with no Janitor running outlasted schemathesis's 10 s read timeout).
    @Sendable package func runJanitorTask(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await JSONRequestBody(request, example: #"{"task": "orphan_sweep", "dry_run": true}"#)
        guard let name = try body.string("task", required: true), let task = JanitorTaskName(rawValue: name) else {
            throw APIError.badRequest(
                "invalid_request", "The field 'task' must be one of \(JanitorTaskName.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let dryRun = try body.bool("dry_run", required: false) ?? false
        let runId: Int64
        do {
            runId = try await janitor.request(task, dryRun: dryRun, trigger: "staff:\(try context.requireUser().username)")
        } catch is MessagingError {
            throw APIError(.serviceUnavailable, code: "broker_unavailable",
                           detail: "The Janitor cannot be asked now: the message broker is unreachable.")
        }
        guard let run = try await janitor.waitWhileListened(for: runId, timeout: Self.janitorAnswerWait) else {
            throw APIError.notFound()
        }
        var w = JSONWriter()
        Self.write(run, to: &w)
        return jsonResponse(w, status: run.state == "finished" ? .ok : .accepted)
    }

    /// How long `POST /api/admin/janitor/run/` waits for the run to finish before answering 202.
    package static let janitorAnswerWait: Duration = .seconds(3)

    package static func write(_ run: JanitorRun, to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.int(run.id)
        w.key("state"); w.string(run.state)
        w.key("task"); w.string(run.task)
        w.key("trigger"); w.string(run.trigger)
        w.key("instance"); w.string(run.instance)
        w.key("dry_run"); w.bool(run.dryRun)
        w.key("started_at"); w.string(ISO8601.string(from: run.startedAt))
        w.key("finished_at"); w.string(run.finishedAt.map(ISO8601.string(from:)))
        w.key("counts")
        w.object(run.counts.mapValues { JSONValue.int($0) })
        w.key("error"); w.string(run.error)
        w.endObject()
    }
}
