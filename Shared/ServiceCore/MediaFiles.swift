import Logging
import MediaDomain
import Persistence
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

    /// The files of a deleted media, unless another media still records them (a duplicate sharing the folder, SPEC
    /// §13): then they stay, and go with the last media using them (what only this one used, an older generation's
    /// renditions, is left to the orphan sweep). Returns how many files went (0 when kept), nil when removal failed
    /// or the question could not be asked (then the orphan sweep decides later, by the rows).
    @discardableResult
    public func removeMediaFiles(of media: Media, unlessUsedBy usage: any MediaFolderUsage, why: String, logger: Logger) async -> Int? {
        guard let folder = StorageKeys.mediaFolderName(of: media.storageKey) else {
            return await removeMediaFiles(original: media.storageKey, why: why, logger: logger)
        }
        do {
            if try await usage.isFolderInUse(folder) {
                logger.info("media files kept: a duplicate still uses them", metadata: [
                    "media_id": "\(media.id)", "folder": "\(folder)", "why": "\(why)",
                ])
                return 0
            }
        } catch {
            logger.error("media files not removed (cannot tell whether a duplicate uses them); the orphan sweep will", metadata: [
                "folder": "\(folder)", "why": "\(why)", "error": "\(error)",
            ])
            return nil
        }
        // An infected original waits under quarantine/ (SPEC §13): it goes with the last media recording it.
        if media.metadata["error"]?.objectValue?["code"] == .string(Quarantine.errorCode) {
            await removeQuarantinedOriginal(of: media, why: why, logger: logger)
        }
        return await removeMediaFiles(original: media.storageKey, why: why, logger: logger)
    }

    /// The quarantine copy of a media's original (SPEC §13), if there is one; a failure is logged and leaves it for
    /// staff, never thrown.
    public func removeQuarantinedOriginal(of media: Media, why: String, logger: Logger) async {
        let key = StorageKeys.quarantine(ofOriginal: media.storageKey)
        do {
            try await delete(key: key)
        } catch let error as StorageError where error.isNotFound {
        } catch {
            logger.error("quarantined original not removed", metadata: ["key": "\(key)", "why": "\(why)", "error": "\(error)"])
        }
    }
}
