import AV
import Foundation

// audio-bench: times the in-process audio pipeline (AudioTranscoder) on one file.
// Usage: audio-bench [--iterations N] [--keep DIR] INPUT
//   Prints per-run times of the full transcode (MP3 + waveform) and of the same transcode without the
//   waveform, then the medians: `audio-bench full median_ms=… waveform_median_ms=…`.

var iterations = 5
var keep: String?
var inputs: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--iterations": iterations = arguments.popFirst().flatMap { Int($0) } ?? iterations
    case "--keep": keep = arguments.popFirst()
    default: inputs.append(argument)
    }
}
guard let input = inputs.first else {
    FileHandle.standardError.write(Data("usage: audio-bench [--iterations N] [--keep DIR] INPUT\n".utf8))
    exit(2)
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

let clock = ContinuousClock()
let scratch = keep ?? (NSTemporaryDirectory() + "audio-bench-\(getpid())")
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { if keep == nil { try? FileManager.default.removeItem(atPath: scratch) } }

var full: [Double] = []
var waveform: [Double] = []
var mp3Only: [Double] = []
var mp3OnlyCPU: [Double] = []

/// CPU time of the whole process (user + system), to compare with `time` of the CLI on a busy machine.
func cpuMilliseconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
}
do {
    for i in 0..<iterations {
        var result: AudioResult?
        let elapsed = try clock.measure {
            result = try AudioTranscoder.transcode(input: input, outputDirectory: scratch)
        }
        full.append(milliseconds(elapsed))
        waveform.append((result?.waveformSeconds ?? 0) * 1000)
        var options = AudioTranscodeOptions()
        options.makeWaveform = false
        let cpuStart = cpuMilliseconds()
        let plain = try clock.measure {
            _ = try AudioTranscoder.transcode(input: input, outputDirectory: scratch, options: options)
        }
        mp3Only.append(milliseconds(plain))
        mp3OnlyCPU.append(cpuMilliseconds() - cpuStart)
        print(String(format: "run %d: full %.1f ms (waveform %.1f ms), mp3 only %.1f ms", i + 1, full[i], waveform[i], mp3Only[i]))
        if i == 0, let result {
            print("  \(result.metadata.codec) \(result.metadata.sampleRate) Hz \(result.metadata.channels) ch "
                  + String(format: "%.3f s", result.metadata.duration) + " → \(result.mp3Path)")
        }
    }
} catch {
    FileHandle.standardError.write(Data("audio-bench: \(error)\n".utf8))
    if keep == nil { try? FileManager.default.removeItem(atPath: scratch) }  // exit skips the defer
    exit(1)
}
print(String(format: "audio-bench full median_ms=%.1f waveform_median_ms=%.2f mp3_only_median_ms=%.1f mp3_only_cpu_ms=%.1f",
             median(full), median(waveform), median(mp3Only), median(mp3OnlyCPU)))
