import Foundation
import GatewayKit
import GatewayLiveStatus
import HTTPTypes
import Hummingbird
import Logging
import MediaDomain
import Operations
import Persistence
import Storage
import Tokens

/// The admin console's pages (SPEC §7): every user's media, one media with its renditions, a user's view (their quota,
/// SPEC §10), dead letters, Janitor runs and stats. Server-rendered and usable without JavaScript. Every action goes
/// through the same `Operations` implementations as the staff API and `mediactl`; a form's result comes back as a
/// notice on the page it came from.
package struct AdminConsoleController: Sendable {
    package let operations: any OperationsStore
    package let repository: any MediaRepository
    package let storage: any BlobStorage
    package let links: MediaLinks
    package let bulk: MediaBulkActions
    package let deadLetters: DeadLetters
    package let janitor: JanitorRequests
    package let sessions: AdminSessions
    package let pages: AdminPages
    /// Every user's live status for the pages' script (SPEC §8's stream, for staff, with the session cookie).
    package let liveStatus: LiveStatusController
    /// Users' quotas (SPEC §10), shown and set on the user view.
    package let quotas: any QuotaStore
    /// `MEDIA_QUOTA_BYTES`: the limit of a user staff gave none of their own.
    package let defaultQuotaBytes: Int64

    package static let pageSize = 25
    package static let statsDays = 30

    package init(operations: any OperationsStore, repository: any MediaRepository, storage: any BlobStorage, links: MediaLinks, bulk: MediaBulkActions, deadLetters: DeadLetters, janitor: JanitorRequests, sessions: AdminSessions, pages: AdminPages, liveStatus: LiveStatusController,
                 quotas: any QuotaStore, defaultQuotaBytes: Int64) {
        self.operations = operations
        self.repository = repository
        self.storage = storage
        self.links = links
        self.bulk = bulk
        self.deadLetters = deadLetters
        self.janitor = janitor
        self.sessions = sessions
        self.pages = pages
        self.liveStatus = liveStatus
        self.quotas = quotas
        self.defaultQuotaBytes = defaultQuotaBytes
    }

    /// Login and logout (open), then the pages behind `AdminSessionMiddleware`.
    package func addRoutes(to router: Router<GatewayRequestContext>) {
        let open = router.group("admin").add(middleware: AdminErrorPageMiddleware(pages: pages))
        open.get("login", use: loginPage)
        open.post("login", use: login)
        open.get("logout", use: logout)
        open.post("logout", use: logout)
        open.get("assets/:name") { _, context in
            guard let name = context.parameters.get("name"), let asset = AdminPages.asset(name) else { throw APIError.notFound() }
            return asset
        }
        let staff = open.add(middleware: AdminSessionMiddleware(sessions: sessions, pages: pages))
        staff.get("", use: mediaList)
        staff.get("mediafiles/media", use: mediaList)
        staff.post("mediafiles/media", use: mediaAction)
        staff.get("mediafiles/media/:id", use: mediaDetail)
        staff.get("users/:id", use: userPage)
        staff.post("users/:id/quota", use: setUserQuota)
        staff.get("dead-letters", use: deadLetterPage)
        staff.post("dead-letters/replay", use: replay)
        staff.get("janitor", use: janitorPage)
        staff.post("janitor/run", use: runJanitor)
        staff.get("stats", use: statsPage)
        staff.get("sessions", use: sessionsPage)
        staff.post("sessions/revoke", use: revokeSession)
        staff.get("events") { request, context in
            liveStatus.open(
                userId: nil, resumeFrom: try LiveStatusController.lastEventId(request),
                expiresAt: context.adminSession?.expiresAt, logger: context.logger)
        }
    }

    // MARK: sign in and out

    @Sendable package func loginPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let next = try StaffMediaFilter.parameters(request)["next"] ?? "/admin/mediafiles/media/"
        if case .session(let session) = try await sessions.identify(request), session.user.isStaff, session.viaCookie {
            return AdminPages.redirect(to: safeReturn(next))
        }
        return pages.login(status: .ok, next: next, error: nil)
    }

    /// A pasted token: a staff member's → the session cookie and on to the page asked for; another user's → 403; one that
    /// does not verify → the login page again (401) saying why.
    @Sendable package func login(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        struct LoginForm: Decodable { var token: String?; var next: String? }
        let form = try await AdminForm.read(request, context: context).decode(LoginForm.self)
        let next = safeReturn(form.next.nonBlank ?? "/admin/mediafiles/media/")
        guard let token = form.token.nonBlank?.replacingOccurrences(of: "Bearer ", with: "") else {
            return pages.login(status: .unauthorized, next: next, error: "Paste an access token.")
        }
        let user: AuthenticatedUser, expiresAt: Date
        do {
            (user, expiresAt) = try sessions.authenticator.credentials(token: token)
        } catch {
            context.logger.info("admin sign-in refused", metadata: ["reason": "\(error.reason)"])
            return pages.login(status: .unauthorized, next: next, error: "The token was refused: \(error.reason).")
        }
        guard user.isStaff else {
            context.logger.info("admin sign-in refused: not staff", metadata: ["user_id": "\(user.id)"])
            return pages.message(
                status: .forbidden, title: "Staff only", heading: "Staff only",
                text: "The token of \(user.username) (user \(user.id)) is not a staff member's. Sign in with a staff token.",
                session: nil, back: "/admin/login")
        }
        var response = AdminPages.redirect(to: next)
        response.setCookie(try await sessions.start(user: user, expiresAt: expiresAt, request: request))
        context.logger.info("admin signed in", metadata: ["user_id": "\(user.id)", "username": "\(user.username)"])
        return response
    }

    /// Ends the session for every Gateway (the cookie, sent again, no longer opens anything), then clears the cookie.
    @Sendable package func logout(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if try await sessions.end(request) { context.logger.info("admin signed out") }
        var response = AdminPages.redirect(to: "/admin/login")
        response.setCookie(sessions.clearingCookie(request))
        return response
    }

    // MARK: media

    @Sendable package func mediaList(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let params = try StaffMediaFilter.parameters(request)
        var filter = try StaffMediaFilter(params, dialect: .page)
        let paging = try Pagination(page: params["page"], size: Self.pageSize)
        let page = paging.page
        filter.query.offset = paging.offset
        filter.query.limit = paging.size
        let started = ContinuousClock.now
        let (count, items) = try await operations.staffMedia(filter.query)
        let elapsed = started.duration(to: .now)
        let pages = paging.pages(of: count)
        func link(_ page: Int) -> String {
            "/admin/mediafiles/media/" + Self.query(paging.query(page, filters: filter.echoed, pageOne: false))
        }
        var values: [String: Any] = [
            "nav_media": true,
            "q": params["q"] ?? "", "owner": params["owner"] ?? "",
            "created_from": params["created_from"] ?? "", "created_to": params["created_to"] ?? "",
            "types": options([("", "Any type")] + FileType.allCases.map { ($0.rawValue, $0.rawValue) }, selected: params["type"]),
            "statuses": options([("", "Any status")] + MediaStatus.allCases.map { ($0.rawValue, $0.rawValue) }, selected: params["status"]),
            "count_text": "\(count) media · \(Self.milliseconds(elapsed)) ms",
            "items": items.map(listRow),
            "page": page, "pages": pages,
            "return": link(page),
        ]
        (values["next"], values["previous"]) = paging.neighbours(count: count, link: link)
        if items.contains(where: { $0.status == .processing || $0.status == .uploading }) { values["live"] = true }
        if let notice = params["notice"] { values["notice"] = notice }
        var response = self.pages.render("list", values, session: session, title: "Media")
        // The database's share of the page, for the browser's developer tools and the benchmark (`make bench`).
        response.headers.set("Server-Timing", "db;dur=\(Self.milliseconds(elapsed))")
        return response
    }

    private func listRow(_ media: Media) -> [String: Any] {
        var row: [String: Any] = [
            "id": media.id, "filename": media.originalFilename, "owner": media.username, "owner_id": media.userId,
            "type": media.fileType.rawValue, "status": media.status.rawValue,
            "size": Self.bytes(media.fileSize), "created": Self.time(media.createdAt),
        ]
        if let thumb = media.renditions["thumbnail"] { row["thumbnail"] = links.fileURL(key: thumb.key, media: media) }
        if case .object(let error)? = media.metadata["error"], let code = error["code"]?.stringValue { row["error_code"] = code }
        return row
    }

    /// The list's bulk form and the detail page's buttons: `action` on `ids`, then back to `return` with what happened.
    @Sendable package func mediaAction(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        struct MediaActionForm: Decodable {
            var action: String?
            var ids: [String]?
            var `return`: String?
        }
        let form = try requireForm(context).decode(MediaActionForm.self)
        let back = safeReturn(form.return.nonBlank ?? "/admin/mediafiles/media/")
        guard let name = form.action.nonBlank, let action = BulkAction(rawValue: name) else {
            throw APIError.badRequest("invalid_request", "Choose an action: reprocess, delete, make_public or make_private.")
        }
        let ids = (form.ids ?? []).compactMap { Int64($0) }.filter { $0 > 0 }
        guard !ids.isEmpty else { return AdminPages.redirect(to: Self.adding(notice: "Select at least one media first.", to: back)) }
        guard ids.count <= MediaBulkActions.maxIds else {
            throw APIError.badRequest("invalid_request", "At most \(MediaBulkActions.maxIds) media at once.")
        }
        let result = try await bulk.perform(action, ids: ids)
        context.logger.info("admin bulk action", metadata: [
            "action": "\(action.rawValue)", "done": "\(result.done.count)", "skipped": "\(result.skipped.count)",
        ])
        var notice = "\(action.rawValue.replacingOccurrences(of: "_", with: " ")): \(result.done.count) done"
        if !result.skipped.isEmpty {
            notice += "; skipped " + result.skipped.map { "\($0.id) (\($0.reason))" }.joined(separator: ", ")
        }
        // A deleted media's page is gone: back to the list instead.
        let target = action == .delete && back.hasPrefix("/admin/mediafiles/media/") && back.count > "/admin/mediafiles/media/".count
            ? "/admin/mediafiles/media/" : back
        return AdminPages.redirect(to: Self.adding(notice: notice, to: target))
    }

    @Sendable package func mediaDetail(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let id = try RouteParameters.id(context)
        guard let media = try await repository.find(id: id) else {
            return pages.message(status: .notFound, title: "Not found", heading: "No media \(id)",
                                 text: "There is no media with id \(id); it may have been deleted.", session: session,
                                 back: "/admin/mediafiles/media/")
        }
        let resource = MediaResource(media, links: links)
        var values: [String: Any] = [
            "nav_media": true, "id": media.id, "media_id": media.id, "filename": media.originalFilename, "status": media.status.rawValue,
            "failed": media.status == .failed, "ready": media.status == .ready, "is_public": media.isPublic,
            "return": "/admin/mediafiles/media/\(media.id)/", "original": links.fileURL(key: media.storageKey, media: media),
        ]
        if media.status == .processing || media.status == .uploading { values["refresh"] = 3 }
        if let notice = try StaffMediaFilter.parameters(request)["notice"] { values["notice"] = notice }
        if case .object(let error)? = media.metadata["error"] {
            values["error_code"] = error["code"]?.stringValue ?? "error"
            values["error_message"] = error["message"]?.stringValue ?? ""
            // SPEC §13: an infected original waits in quarantine for staff's release or delete.
            if RestartKind.release.startsFrom(media) { values["quarantined"] = true }
        }
        if media.status == .ready {
            switch media.fileType {
            case .image:
                let images: [[String: Any]] = RenditionCatalog.names(for: .image).compactMap { name in
                    guard let r = media.renditions[name], let url = resource.urls[name] ?? nil else { return nil }
                    var item: [String: Any] = ["name": name, "url": url]
                    if let w = r.width, let h = r.height { item["size"] = "\(w)×\(h), \(Self.bytes(r.fileSize))" }
                    return item
                }
                values["images"] = images
                values["has_images"] = !images.isEmpty
            case .video:
                values["video"] = (resource.urls["video"] ?? nil) ?? resource.displayURL
                if let poster = resource.urls["poster"] ?? nil { values["poster"] = poster }
                if let thumb = resource.urls["thumbnail"] ?? nil {
                    values["images"] = [["name": "thumbnail", "url": thumb]]
                    values["has_images"] = true
                }
            case .audio:
                values["audio"] = (resource.urls["audio"] ?? nil) ?? resource.displayURL
                if let key = media.renditions["waveform"]?.key, let svg = await waveform(key: key, logger: context.logger) {
                    values["waveform"] = svg
                }
                if let cover = resource.urls["thumbnail"] ?? nil {
                    values["images"] = [["name": "cover", "url": cover]]
                    values["has_images"] = true
                }
            }
        }
        var facts: [(String, String)] = [
            ("ID", String(media.id)), ("Owner", "\(media.username) (user \(media.userId))"),
            ("Type", media.fileType.rawValue), ("Format", media.format.rawValue), ("MIME type", media.mimeType),
            ("Size", "\(Self.bytes(media.fileSize)) (\(media.fileSize) bytes)"),
            ("Public", media.isPublic ? "yes" : "no"), ("Created", Self.time(media.createdAt)), ("Updated", Self.time(media.updatedAt)),
            ("Storage key", media.storageKey),
        ]
        if let w = media.width, let h = media.height { facts.append(("Dimensions", "\(w) × \(h)")) }
        if let d = media.duration { facts.append(("Duration", String(format: "%.2f s", d))) }
        if let b = media.bitrate { facts.append(("Bitrate", "\(b / 1000) kbit/s")) }
        // The owner links to their user view (quota).
        values["facts"] = facts.map { fact -> [String: Any] in
            var row: [String: Any] = ["name": fact.0, "value": fact.1]
            if fact.0 == "Owner" { row["link"] = "/admin/users/\(media.userId)/" }
            return row
        }
        var processing: [(String, String)] = [("Status", media.status.rawValue), ("Generation", String(media.generation))]
        if let attempts = media.metadata["attempts"]?.intValue { processing.append(("Attempts", String(attempts))) }
        if let ms = media.metadata["processing_ms"]?.intValue { processing.append(("Processing time", "\(ms) ms")) }
        if let progress = media.metadata["progress"]?.intValue { processing.append(("Progress", "\(progress) %")) }
        if case .object(let error)? = media.metadata["error"] {
            processing.append(("Error code", error["code"]?.stringValue ?? ""))
            processing.append(("Error", error["message"]?.stringValue ?? ""))
        }
        for (name, r) in media.renditions.sorted(by: { $0.key < $1.key }) {
            processing.append(("Rendition \(name)", "\(r.mimeType), \(Self.bytes(r.fileSize))" + (r.width.map { w in ", \(w)×\(r.height ?? 0)" } ?? "")))
        }
        values["processing"] = processing.map { ["name": $0.0, "value": $0.1] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        values["metadata"] = (try? encoder.encode(media.metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return pages.render("detail", values, session: session, title: media.originalFilename)
    }

    /// The waveform rendition drawn as SVG, or nil (logged) when it cannot be read: the page still shows the player.
    private func waveform(key: String, logger: Logger) async -> String? {
        do {
            guard let info = try await storage.info(key: key), info.size <= 1 << 20 else { return nil }
            let bytes = try await storage.get(key: key)
            guard case .object(let doc) = try bytes.withUnsafeBytes({ try JSONParser.parse($0) }),
                  case .array(let data)? = doc["data"]
            else { return nil }
            return SVGCharts.waveform(data.compactMap { value -> Double? in
                switch value {
                case .double(let d): d
                case .int(let i): Double(i)
                default: nil
                }
            })
        } catch {
            logger.warning("waveform not drawn", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: users

    /// A user's view (SPEC §7, §10): their quota figures and the form that sets their limit.
    @Sendable package func userPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let userId = try RouteParameters.id(context)
        var values = try await userValues(userId)
        if let notice = try StaffMediaFilter.parameters(request)["notice"] { values["notice"] = notice }
        return pages.render("user", values, session: session, title: "User \(userId)")
    }

    /// The user view's form: `limit_bytes` an integer of bytes ≥ 0, or empty (or `default`) for the default; anything
    /// else → the page again saying why (400).
    @Sendable package func setUserQuota(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let userId = try RouteParameters.id(context)
        struct QuotaForm: Decodable { var limit_bytes: String? }
        let form = try requireForm(context).decode(QuotaForm.self)
        let limit: Int64?
        switch Self.quotaLimit(form.limit_bytes) {
        case .success(let parsed):
            limit = parsed
        case .failure(let problem):
            var values = try await userValues(userId)
            values["error"] = problem.message
            values["limit_input"] = form.limit_bytes ?? ""
            return pages.render("user", values, session: session, status: .badRequest, title: "User \(userId)")
        }
        try await quotas.setLimit(userId: userId, limitBytes: limit)
        context.logger.notice("quota set", metadata: [
            "user_id": "\(userId)", "limit_bytes": "\(limit.map(String.init) ?? "default")", "by": "\(session.user.username)",
        ])
        let notice = limit.map { "Limit set to \(Self.bytes($0)) (\($0) bytes)." }
            ?? "Limit set back to the default (\(Self.bytes(defaultQuotaBytes)))."
        return AdminPages.redirect(to: Self.adding(notice: notice, to: "/admin/users/\(userId)/"))
    }

    private func userValues(_ userId: Int64) async throws -> [String: Any] {
        let usage = try await quotas.usage(userId: userId, defaultLimit: defaultQuotaBytes)
        return [
            "user_id": userId, "is_default": usage.customLimitBytes == nil,
            "limit": Self.bytes(usage.limitBytes), "limit_bytes": usage.limitBytes,
            "used": Self.bytes(usage.usedBytes), "used_bytes": usage.usedBytes,
            "reserved": Self.bytes(usage.reservedBytes), "reserved_bytes": usage.reservedBytes,
            "available": Self.bytes(usage.availableBytes), "available_bytes": usage.availableBytes,
            "limit_input": usage.customLimitBytes.map { String($0) } ?? "",
            "default_limit": "\(Self.bytes(defaultQuotaBytes)), \(defaultQuotaBytes) bytes",
        ]
    }

    /// Why a typed limit was refused.
    package struct QuotaLimitProblem: Error, Equatable {
        package let message: String
    }

    /// The user view's `limit_bytes`: nil (the default) when empty or `default`, else an integer of bytes from 0 to
    /// 2^63 - 1.
    package static func quotaLimit(_ text: String?) -> Result<Int64?, QuotaLimitProblem> {
        guard let text = text else {
            return .failure(QuotaLimitProblem(message: "Send limit_bytes: an integer of bytes, 0 or more, or empty for the default."))
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.lowercased() == "default" { return .success(nil) }
        guard trimmed.allSatisfy({ $0.isASCII && $0.isNumber }), let bytes = Int64(trimmed) else {
            return .failure(QuotaLimitProblem(
                message: "The limit must be an integer of bytes from 0 to 9223372036854775807 (not \"\(trimmed.prefix(40))\"), "
                    + "or empty for the default."))
        }
        return .success(bytes)
    }

    // MARK: dead letters

    @Sendable package func deadLetterPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let params = try StaffMediaFilter.parameters(request)
        let paging = try Pagination(page: params["page"], size: 50)
        let page = paging.page
        let groups = try await deadLetters.groups()
        let (count, letters) = try await deadLetters.list(DeadLetterSelection(), offset: paging.offset, limit: paging.size)
        let pages = paging.pages(of: count)
        var values: [String: Any] = [
            "nav_dead": true, "csrf": session.csrfToken,
            "groups": groups.map { g -> [String: Any] in
                ["queue": g.queue, "code": g.code, "count": g.count,
                 "oldest": g.oldest.map(Self.time) ?? "", "newest": g.newest.map(Self.time) ?? ""]
            },
            "letters": letters.map { l -> [String: Any] in
                var row: [String: Any] = [
                    "queue": l.queue, "event_id": l.eventId, "event_short": String(l.eventId.prefix(8)) + "…",
                    "code": l.code, "message": l.message,
                    "message_short": l.message.count > 140 ? String(l.message.prefix(140)) + "…" : l.message, "attempts": l.attempts,
                    "first_failed": l.firstFailedAt.map(Self.time) ?? "", "replays": l.replays,
                ]
                if let id = l.mediaId { row["media_id"] = id }
                return row
            },
            "has_letters": !letters.isEmpty, "page": page, "pages": pages,
        ]
        (values["next"], values["previous"]) = paging.neighbours(count: count) { "/admin/dead-letters/?page=\($0)" }
        if let notice = params["notice"] { values["notice"] = notice }
        return self.pages.render("dead_letters", values, session: session, title: "Dead letters")
    }

    /// A group (`queue` and `code`) or one message (`event_id`); `dry_run` reports without replaying.
    @Sendable package func replay(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        struct ReplayForm: Decodable {
            var queue: String?
            var code: String?
            var event_id: String?
            var dry_run: String?
        }
        let form = try requireForm(context).decode(ReplayForm.self)
        let selection = DeadLetterSelection(
            queue: form.queue.nonBlank, code: form.code.nonBlank, eventIds: Set([form.event_id.nonBlank].compactMap { $0 }),
            all: false, limit: nil)
        guard !selection.isEmpty else {
            return AdminPages.redirect(to: Self.adding(notice: "Choose a group or a message to replay.", to: "/admin/dead-letters/"))
        }
        let dryRun = form.dry_run.nonBlank != nil
        let report: ReplayReport
        do {
            report = try await deadLetters.replay(selection, dryRun: dryRun)
        } catch let error as OperationsError {
            throw APIError.badRequest("invalid_request", error.description)
        }
        context.logger.info("admin dead-letter replay", metadata: [
            "queue": "\(selection.queue ?? "-")", "code": "\(selection.code ?? "-")", "dry_run": "\(dryRun)",
            "replayed": "\(report.replayed.count)", "skipped": "\(report.skipped.count)",
        ])
        var notice = dryRun ? "Dry run: would replay \(report.replayed.count)" : "Replayed \(report.replayed.count)"
        if !report.skipped.isEmpty {
            notice += "; skipped \(report.skipped.count): " + report.skipped.prefix(10).map { "\($0.eventId.prefix(8))… \($0.reason)" }
                .joined(separator: ", ")
        }
        return AdminPages.redirect(to: Self.adding(notice: notice, to: "/admin/dead-letters/"))
    }

    // MARK: janitor

    @Sendable package func janitorPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let runs = try await operations.janitorRuns(task: nil, limit: 20)
        var tasks: [[String: Any]] = []
        for task in JanitorTaskName.allCases {
            var row: [String: Any] = ["name": task.rawValue, "about": Self.about(task)]
            if let last = try await operations.janitorRuns(task: task.rawValue, limit: 1).first { row["last"] = runRow(last) }
            tasks.append(row)
        }
        var values: [String: Any] = ["nav_janitor": true, "tasks": tasks, "runs": runs.map(runRow)]
        if let notice = try StaffMediaFilter.parameters(request)["notice"] { values["notice"] = notice }
        return pages.render("janitor", values, session: session, title: "Janitor")
    }

    private func runRow(_ run: JanitorRun) -> [String: Any] {
        var row: [String: Any] = [
            "id": run.id, "task": run.task, "started": Self.time(run.startedAt), "trigger": run.trigger,
            "instance": run.instance, "dry_run": run.dryRun,
            "counts": run.counts.isEmpty ? "nothing to do" : run.counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "),
            "took": run.finishedAt.map { "\(Int(($0.timeIntervalSince(run.startedAt) * 1000).rounded())) ms" } ?? run.state,
        ]
        if let error = run.error { row["error"] = error }
        return row
    }

    @Sendable package func runJanitor(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        struct JanitorRunForm: Decodable { var task: String?; var dry_run: String? }
        let form = try requireForm(context).decode(JanitorRunForm.self)
        guard let name = form.task.nonBlank, let task = JanitorTaskName(rawValue: name) else {
            throw APIError.badRequest("invalid_request", "Choose a task: \(JanitorTaskName.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let dryRun = form.dry_run.nonBlank != nil
        let runId = try await janitor.request(task, dryRun: dryRun, trigger: "staff:\(session.user.username)")
        // A short wait: most tasks finish at once, and the notice can say what they did (none when no Janitor acts).
        let run = try await janitor.waitWhileListened(for: runId, timeout: .seconds(5))
        var notice = "\(task.rawValue)\(dryRun ? " (dry run)" : ""): run \(runId)"
        if let run, run.state == "finished" {
            let counts = run.counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            notice += ", \(counts.isEmpty ? "nothing to do" : counts)"
            if let error = run.error { notice += "; failed: \(error)" }
        } else {
            notice += " asked of the Janitor (\(run?.state ?? "requested")); its result will show below"
        }
        return AdminPages.redirect(to: Self.adding(notice: notice, to: "/admin/janitor/"))
    }

    // MARK: sessions

    @Sendable package func sessionsPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let live = try await sessions.store.live(limit: 200)
        var values: [String: Any] = [
            "nav_sessions": true,
            "sessions": live.map { s -> [String: Any] in
                ["id": s.id, "username": s.username, "user_id": s.userId, "created": Self.time(s.createdAt),
                 "expires": Self.time(s.expiresAt), "mine": s.csrfToken == session.csrfToken && session.viaCookie]
            },
        ]
        if let notice = try StaffMediaFilter.parameters(request)["notice"] { values["notice"] = notice }
        return pages.render("sessions", values, session: session, title: "Sessions")
    }

    /// Ends a session on every Gateway (staff revoking it, SPEC §7).
    @Sendable package func revokeSession(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        struct RevokeForm: Decodable { var id: String? }
        let form = try requireForm(context).decode(RevokeForm.self)
        guard let id = form.id.nonBlank.flatMap({ Int64($0) }) else { throw APIError.badRequest("invalid_request", "Choose a session.") }
        let revoked = try await sessions.store.revoke(id: id, by: "staff:\(session.user.username)")
        if revoked { context.logger.notice("admin session revoked", metadata: ["session_id": "\(id)"]) }
        return AdminPages.redirect(to: Self.adding(
            notice: revoked ? "Session \(id) revoked." : "Session \(id) had already ended.", to: "/admin/sessions/"))
    }

    // MARK: stats

    @Sendable package func statsPage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try requireSession(context)
        let stats = try await operations.staffStats(days: Self.statsDays)
        let typeColors: [FileType: String] = [.image: "#2457c5", .video: "#6f42c1", .audio: "#0a7ea4"]
        let statusColors: [MediaStatus: String] = [.ready: "#1b7f3b", .processing: "#9a6700", .uploading: "#c08a00", .failed: "#b3261e"]
        let byType = SVGCharts.bars(FileType.allCases.map { t in
            let n = stats.byType[t] ?? 0
            return .init(label: t.rawValue, value: Double(n), color: typeColors[t] ?? "#2457c5", text: String(n))
        }, title: "Media by type")
        let byStatus = SVGCharts.bars(MediaStatus.allCases.map { s in
            let n = stats.byStatus[s] ?? 0
            return .init(label: s.rawValue, value: Double(n), color: statusColors[s] ?? "#2457c5", text: String(n))
        }, title: "Media by status")
        let perDay = SVGCharts.columns(stats.uploadsPerDay.map { ($0.day, $0.uploads) }, title: "Uploads per day")
        let processing = SVGCharts.pairedBars(
            FileType.allCases.compactMap { t in
                stats.processing[t].map { (t.rawValue, $0.p50Ms, $0.p95Ms, "\($0.samples) ready") }
            }, names: ("p50", "p95"), unit: "ms", title: "Processing time p50 and p95 per type")
        let values: [String: Any] = [
            "nav_stats": true, "total": stats.total, "total_size": Self.bytes(stats.totalSize), "days": Self.statsDays,
            "uploads": stats.uploadsPerDay.reduce(0) { $0 + $1.uploads },
            "by_type": byType, "by_status": byStatus, "per_day": perDay, "processing": processing,
        ]
        return pages.render("stats", values, session: session, title: "Stats")
    }

    // MARK: helpers

    private func requireSession(_ context: GatewayRequestContext) throws -> AdminSession {
        guard let session = context.adminSession else { throw APIError.notAuthenticated() }
        return session
    }

    private func requireForm(_ context: GatewayRequestContext) throws -> AdminForm {
        guard let form = context.adminForm else { throw APIError.badRequest("invalid_request", "The form is missing.") }
        return form
    }

    /// Only pages of the console are returned to (an open redirect otherwise).
    private func safeReturn(_ path: String) -> String {
        path.hasPrefix("/admin/") && !path.hasPrefix("//") && !path.contains("\\") && !path.contains("\r") && !path.contains("\n")
            ? path : "/admin/mediafiles/media/"
    }

    private func options(_ pairs: [(String, String)], selected: String?) -> [[String: Any]] {
        pairs.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == (selected ?? "")] }
    }

    package static func query(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            .joined(separator: "&")
    }

    /// `path` with `notice=` set (any earlier notice replaced).
    package static func adding(notice: String, to path: String) -> String {
        let parts = path.split(separator: "?", maxSplits: 1)
        let items = parts.count > 1 ? URLComponents(string: "?" + parts[1])?.queryItems ?? [] : []
        var pairs = items.filter { $0.name != "notice" }.map { ($0.name, $0.value ?? "") }
        pairs.append(("notice", notice))
        return String(parts.first ?? "") + query(pairs)
    }

    package static func bytes(_ n: Int64) -> String { ByteCount.describe(n) }

    package static func time(_ date: Date) -> String {
        let text = ISO8601.string(from: date)
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    package static func milliseconds(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    package static func about(_ task: JanitorTaskName) -> String {
        switch task {
        case .failedCleanup: "deletes media failed for longer than the retention, and their files"
        case .orphanSweep: "removes stored files no media owns, and abandoned partial writes"
        case .stuckProcessing: "republishes jobs that stopped progressing, then fails them"
        case .outboxWatch: "reports unsent events and prunes delivered ones"
        case .quotaResync: "reconciles users' quota figures with what storage holds, and gives back expired reservations"
        case .backfill: "gives media stored before they existed their placeholders, perceptual hash and content hash"
        }
    }
}

