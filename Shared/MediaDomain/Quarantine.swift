/// Infected originals (SPEC §13): the error code they fail with, and what staff's release leaves on the row.
public enum Quarantine {
    /// `error.code` of a media whose original a malware scan found infected.
    public static let errorCode = "malware_detected"
    /// Set (true) in `metadata` by staff's release: the media and its later reprocesses skip the malware scan.
    public static let releasedKey = "scan_released"
}
