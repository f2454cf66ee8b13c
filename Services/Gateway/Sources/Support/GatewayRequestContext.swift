import Hummingbird

/// The request context of every Gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Upload bodies are streamed and limited per type by the upload handler, not buffered by the server.
    public var maxUploadSize: Int { .max }
}
