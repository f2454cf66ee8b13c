// video-bench: one in-process transcode (or remux) of a file with the AV layer; prints seconds and peak RSS.
// Usage: video-bench <input> <output-dir> [--remux] [--poster-time S]   (run.sh runs it several times and compares with the CLI)
import AV
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: video-bench <input> <output-dir> [--remux]\n".utf8))
    exit(2)
}
var options = VideoTranscodeOptions()
options.allowRemux = arguments.contains("--remux")
if let i = arguments.firstIndex(of: "--poster-time"), i + 1 < arguments.count, let t = Double(arguments[i + 1]) {
    options.posterTime = t  // to separate the poster's decoding from the rest when profiling
}
let dir = arguments[2]
let request = VideoTranscodeRequest(
    inputPath: arguments[1], videoPath: "\(dir)/bench.mp4", posterPath: "\(dir)/bench-poster.jpg",
    thumbnailPath: "\(dir)/bench-thumbnail.jpg")
let clock = ContinuousClock()
let started = clock.now
do {
    let result = try VideoTranscoder(options: options).run(request)
    let elapsed = started.duration(to: clock.now)
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "seconds=%.3f peak_rss_mib=%.1f remuxed=%@ size=%dx%d", seconds,
                 Double(usage.ru_maxrss) / 1024, result.remuxed ? "true" : "false", result.video.width, result.video.height))
} catch {
    FileHandle.standardError.write(Data("video-bench: \(error)\n".utf8))
    exit(1)
}
