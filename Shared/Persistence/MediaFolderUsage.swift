import Foundation

/// Whether any media still records files in a media folder (`media/<folder>/`). A duplicate upload (SPEC §13) records
/// the files of the media it matched, so deleting one media must not remove a folder another still uses: the folder
/// goes with the last of them. Asked after the deletion committed; a duplicate being created holds its source's row
/// (`FOR SHARE`) until it commits, so a deletion either sees it here or saw no source to share with.
public protocol MediaFolderUsage: Sendable {
    func isFolderInUse(_ folderName: String) async throws -> Bool
}
