/// The caller, as its bearer token names it.
public struct AuthenticatedUser: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var isStaff: Bool

    public init(id: Int64, username: String, isStaff: Bool = false) {
        self.id = id
        self.username = username
        self.isStaff = isStaff
    }
}
