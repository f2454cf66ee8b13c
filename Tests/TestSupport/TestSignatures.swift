/// The EICAR anti-malware test file (eicar.org), which every scanner reports and the project's test clamd carries as
/// `Mediaflow.Test.Eicar` (scripts/services.sh). Kept as hex, so no file of the repository is itself a test virus.
public enum TestSignatures {
    public static let eicarHex =
        "58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a"

    public static var eicar: [UInt8] {
        let digits = Array(eicarHex.utf8)
        return stride(from: 0, to: digits.count, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }
}
