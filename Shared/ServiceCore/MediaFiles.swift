import Logging
import MediaDomain
import Storage

extension BlobStorage {
    /// Removes every stored file of a media (its folder: the original and every generation's renditions) and says
    /// how many went. A failure is logged with the folder and `why`, and leaves orphans the Janitor's sweep removes
    /// later; it is never thrown: the row is already gone (or never came), which is what clients see.
    @discardableResult
    public func removeMediaFiles(original key: String, why: String, logger: Logger) async -> Int? {
        let folder = StorageKeys.mediaPrefix(ofOriginal: key)
        do {
            let files = try await list(prefix: folder)
            try await deletePrefix(folder)
            return files.count
        } catch {
            logger.error("media files not removed; the orphan sweep will remove them", metadata: [
                "folder": "\(folder)", "why": "\(why)", "error": "\(error)",
            ])
            return nil
        }
    }
}
