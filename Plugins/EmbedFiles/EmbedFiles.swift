import Foundation
import PackagePlugin

/// Embeds a target's page files (`*.mustache`, `*.css`, `*.js` under its `Templates/` folders) in its binary as string
/// constants (`EmbeddedFiles.contents`), so the files are edited as files and the executable needs no resource folder
/// beside it wherever it is copied.
@main
struct EmbedFiles: BuildToolPlugin {
    static let extensions: Set<String> = ["mustache", "css", "js"]

    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        var inputs: [URL] = []
        let enumerator = FileManager.default.enumerator(at: module.directoryURL, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            if url.deletingLastPathComponent().lastPathComponent == "Templates", Self.extensions.contains(url.pathExtension) {
                inputs.append(url)
            }
        }
        inputs.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [.buildCommand(
            displayName: "Embedding \(inputs.count) page files in \(target.name)",
            executable: try context.tool(named: "embed-files").url,
            arguments: [output.path] + inputs.map(\.path),
            inputFiles: inputs, outputFiles: [output])]
    }
}
