/// Thrown into a request's body when its client stopped sending: the upload reading it fails and removes what it
/// stored (a body that merely ended would read as a short upload).
package struct RequestBodyTimeout: Error, CustomStringConvertible {
    package init() {}

    package var description: String { "the client sent no byte of the body for too long" }
}
