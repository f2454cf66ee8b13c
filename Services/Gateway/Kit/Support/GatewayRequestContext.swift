import Hummingbird
import MediaDomain
import Tokens

/// The request context of every Gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller, set by `AuthenticationMiddleware` on the routes it guards; nil elsewhere.
    public var user: AuthenticatedUser?
    /// The request's place in a trace (`TraceContextMiddleware`): the caller's `traceparent`, or a new trace.
    public var trace: TraceParent?
    /// The admin pages' session (set by `AdminSessionMiddleware`) and, for a form they posted, its fields once the
    /// CSRF token was checked.
    package var adminSession: AdminSession?
    package var adminForm: AdminForm?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Upload bodies are streamed and limited per type by the upload handler, not buffered by the server.
    public var maxUploadSize: Int { .max }

    /// The caller of a route behind `AuthenticationMiddleware`. A route reached without it is a wiring mistake,
    /// answered like a missing token rather than served to nobody.
    public func requireUser() throws(APIError) -> AuthenticatedUser {
        guard let user else { throw .notAuthenticated() }
        return user
    }
}
