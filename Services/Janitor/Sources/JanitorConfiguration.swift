import Foundation
import Operations
import ServiceCore
import ServiceKit

/// The Janitor's settings, read once from the environment.
public struct JanitorConfiguration: Sendable {
    public var opsHost: String
    public var opsPort: Int
    /// How often a standing-by Janitor tries to become the acting one (well inside the shortest task interval).
    public var standbyPoll: Duration
    public var tasks: JanitorSettings
    public var common: CommonConfiguration

    public static let help = """
        mediaflow-janitor: scheduled clean-up (SPEC §4). Several may run; one acts at a time (a PostgreSQL advisory
        lock), the others stand by and take over when it stops.

        Environment:
          MEDIA_OPS_HOST           address of /healthz, /readyz, /metrics (default 127.0.0.1)
          MEDIA_OPS_PORT           their port (default 9104)
          MEDIA_JANITOR_STANDBY_POLL  how often a standing-by Janitor tries to take over (default 5s)
        \(JanitorSettings.help)
        \(CommonConfiguration.help)
        """

    public init(environment env: Environment = Environment()) throws {
        opsHost = env.string("MEDIA_OPS_HOST", default: "127.0.0.1")
        opsPort = try env.int("MEDIA_OPS_PORT", default: 9104)
        standbyPoll = try env.duration("MEDIA_JANITOR_STANDBY_POLL", default: .seconds(5))
        tasks = try JanitorSettings(environment: env)
        common = try CommonConfiguration(environment: env)
    }
}
