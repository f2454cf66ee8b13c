#if canImport(Glibc)
import Glibc
#endif

/// The open-file limit of this process. Every client connection is a descriptor, and a Gateway holding thousands of
/// live-status streams (SPEC §8) needs more than the 1,024 a login shell usually starts with; the hard limit is
/// what the system allows without privileges, so the soft limit is raised to it.
public enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one; returns the limit in force afterwards.
    @discardableResult
    public static func raiseToHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
