// imaging-bench: times the image renditions (the five of SPEC §2 and the AVIF of §12) in a warm worker and reports
// median latency, peak RSS and what the placeholders (ThumbHash, dominant colour) cost inside each job.
// Usage: imaging-bench [--iterations N] [--warmup N] [--only thumbnail,webp,...] [--no-avif] FILE...
import Foundation
import MediaDomain
import Imaging

#if canImport(Glibc)
import Glibc
#endif

var renditions = RenditionCatalog.image + [RenditionCatalog.imageAVIF]

var iterations = 10
var warmup = 2
var files: [String] = []
var only: Set<String> = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--iterations": iterations = arguments.popFirst().flatMap { Int($0) } ?? iterations
    case "--warmup": warmup = arguments.popFirst().flatMap { Int($0) } ?? warmup
    case "--only": only = Set((arguments.popFirst() ?? "").split(separator: ",").map(String.init))
    case "--no-avif": renditions = RenditionCatalog.image
    default: files.append(argument)
    }
}
guard !files.isEmpty else {
    print("usage: imaging-bench [--iterations N] [--warmup N] FILE...")
    exit(2)
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
}

let outputs = only.isEmpty ? renditions : renditions.filter { only.contains($0.name) }
let pipeline = ImagePipeline()
for file in files {
    do {
        for _ in 0..<warmup { _ = try pipeline.process(file: file, outputs: outputs) }
        var samples: [Double] = []
        var placeholderSamples: [Double] = []
        let cpuStart = cpuSeconds()
        var last: ProcessedImage?
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            last = try pipeline.process(file: file, outputs: outputs)
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            if let time = last?.placeholderTime {
                placeholderSamples.append(Double(time.components.attoseconds) / 1e15 + Double(time.components.seconds) * 1000)
            }
        }
        placeholderSamples.sort()
        let cpuPerRun = (cpuSeconds() - cpuStart) * 1000 / Double(iterations)
        samples.sort()
        let median = samples.count % 2 == 1
            ? samples[samples.count / 2]
            : (samples[samples.count / 2 - 1] + samples[samples.count / 2]) / 2
        let sizes = last.map { $0.renditions.map { "\($0.name)=\($0.width)x\($0.height):\($0.data.count)B" }.joined(separator: " ") } ?? ""
        print(String(format: "vips %@ %dx%d median_ms=%.1f min_ms=%.1f max_ms=%.1f cpu_ms=%.1f peak_rss_mib=%.1f placeholder_ms=%.3f",
                     (file as NSString).lastPathComponent, last?.width ?? 0, last?.height ?? 0,
                     median, samples.first ?? 0, samples.last ?? 0, cpuPerRun, peakRSSMiB(),
                     placeholderSamples.isEmpty ? 0 : placeholderSamples[placeholderSamples.count / 2]))
        print("  \(sizes)")
    } catch {
        print("vips \(file) failed: \(error)")
        exit(1)
    }
}
