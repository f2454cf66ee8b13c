import Foundation
import GatewayKit
import Hummingbird
import MediaDomain
import Persistence

/// Staff's view of the admin console's sessions (SPEC §7): `GET /api/admin/sessions/` lists the live ones, `DELETE
/// /api/admin/sessions/{id}/` revokes one, which ends it on every Gateway at once (its cookie then opens the login
/// page). Behind `AuthenticationMiddleware` and `StaffOnlyMiddleware`.
package struct AdminSessionsController: Sendable {
    package let store: any AdminSessionStore

    package init(store: any AdminSessionStore) {
        self.store = store
    }

    package func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.get("sessions", use: list)
        group.methodNotAllowed("sessions", allow: [.get, .head])
        group.delete("sessions/:id", use: revoke)
        group.methodNotAllowed("sessions/:id", allow: [.delete])
    }

    /// `{results: [{id, user_id, username, created_at, expires_at}]}`, newest first.
    @Sendable package func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var w = JSONWriter()
        w.beginObject()
        w.key("results")
        w.beginArray()
        for session in try await store.live(limit: 500) {
            w.beginObject()
            w.key("id"); w.int(session.id)
            w.key("user_id"); w.int(session.userId)
            w.key("username"); w.string(session.username)
            w.key("created_at"); w.string(ISO8601.string(from: session.createdAt))
            w.key("expires_at"); w.string(ISO8601.string(from: session.expiresAt))
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return jsonResponse(w)
    }

    @Sendable package func revoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try RouteParameters.id(context)
        guard try await store.revoke(id: id, by: "staff:\(try context.requireUser().username)") else {
            throw APIError(.notFound, code: "not_found", detail: "No live admin session \(id).")
        }
        context.logger.notice("admin session revoked", metadata: ["session_id": "\(id)"])
        return Response(status: .noContent)
    }
}
