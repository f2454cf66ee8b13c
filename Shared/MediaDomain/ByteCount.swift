import Foundation

/// Byte counts as people read them (`9.5 MiB`, `10.0 GiB`, `512 B`): binary units, one decimal. One spelling for the
/// API's error messages, the admin console and mediactl.
public enum ByteCount {
    public static func describe(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
