import Foundation

/// Peaks for a player's waveform: `length` (min, max) pairs over the whole track, in full-scale units
/// (-1…1, where ±1 is digital full scale; not stretched to the loudest peak, so quiet tracks look quiet).
///
/// JSON (`jsonData()`), modelled on BBC audiowaveform's format with float data:
/// `{"version":1,"channels":1,"sample_rate":44100,"samples_per_pixel":S,"length":L,"data":[min0,max0,min1,max1,…]}`.
/// Channels are merged (min and max over all channels), so `channels` is always 1; pixel `i` covers the
/// samples `[i*S, (i+1)*S)` at `sample_rate`. `S` is `total_samples / length`, so it may be fractional:
/// the track always fills exactly `length` pixels (800 unless the track is shorter than 800 samples).
public struct Waveform: Sendable, Equatable {
    public var sampleRate: Int
    public var samplesPerPixel: Double
    /// Samples per channel the waveform covers.
    public var totalSamples: Int
    /// `2 * length` values: min, max of each pixel, each in -1…1.
    public var data: [Float]

    public var length: Int { data.count / 2 }

    public init(sampleRate: Int, totalSamples: Int, data: [Float]) {
        self.sampleRate = sampleRate
        self.totalSamples = totalSamples
        samplesPerPixel = data.isEmpty ? 0 : Double(totalSamples) / Double(data.count / 2)
        self.data = data
    }

    /// The JSON document described above (values rounded to 4 decimals).
    public func jsonData() -> Data {
        var json = "{\"version\":1,\"channels\":1,\"sample_rate\":\(sampleRate),"
        let spp = (samplesPerPixel * 1000).rounded() / 1000
        json += "\"samples_per_pixel\":\(spp),\"length\":\(length),\"data\":["
        json.reserveCapacity(json.utf8.count + data.count * 8)
        for (i, value) in data.enumerated() {
            if i > 0 { json += "," }
            let rounded = (Double(value) * 10_000).rounded() / 10_000
            json += rounded == 0 ? "0" : String(rounded)
        }
        json += "]}"
        return Data(json.utf8)
    }
}

/// Builds a `Waveform` in one pass over planar float samples, without knowing the length in advance.
///
/// Samples are folded into blocks (min/max of `blockSize` samples); when the block list reaches
/// `2 * maxBlocks` neighbouring blocks are merged and the block size doubles, so memory stays bounded
/// (≤ 64k floats) for any duration, and the final pixels are exact to within 1/`maxBlocks` of the track
/// (exact for tracks under `2 * maxBlocks` samples).
struct WaveformBuilder {
    let pixels: Int
    let sampleRate: Int
    private let maxBlocks = 16_384
    private var blockSize = 1
    private var mins: [Float] = []
    private var maxs: [Float] = []
    private var currentMin = Float.infinity
    private var currentMax = -Float.infinity
    private var inBlock = 0
    private(set) var totalSamples = 0

    init(pixels: Int = 800, sampleRate: Int) {
        self.pixels = pixels
        self.sampleRate = sampleRate
        mins.reserveCapacity(2 * maxBlocks)
        maxs.reserveCapacity(2 * maxBlocks)
    }

    /// Adds `count` samples of each of `planes` (float, planar).
    mutating func add(planes: [UnsafePointer<Float>], count: Int) {
        var offset = 0
        while offset < count {
            let n = min(count - offset, blockSize - inBlock)
            var lo = currentMin
            var hi = currentMax
            for plane in planes {
                for value in UnsafeBufferPointer(start: plane + offset, count: n) {
                    lo = min(lo, value)
                    hi = max(hi, value)
                }
            }
            currentMin = lo
            currentMax = hi
            inBlock += n
            offset += n
            if inBlock == blockSize { closeBlock() }
        }
        totalSamples += count
    }

    private mutating func closeBlock() {
        mins.append(currentMin)
        maxs.append(currentMax)
        currentMin = .infinity
        currentMax = -.infinity
        inBlock = 0
        if mins.count == 2 * maxBlocks {
            for i in 0..<maxBlocks {
                mins[i] = min(mins[2 * i], mins[2 * i + 1])
                maxs[i] = max(maxs[2 * i], maxs[2 * i + 1])
            }
            mins.removeLast(maxBlocks)
            maxs.removeLast(maxBlocks)
            blockSize *= 2
        }
    }

    /// The waveform of everything added (`pixels` pairs, fewer only when there are fewer samples).
    func finish() -> Waveform {
        var blockMins = mins
        var blockMaxs = maxs
        if inBlock > 0 {
            blockMins.append(currentMin)
            blockMaxs.append(currentMax)
        }
        let length = min(pixels, totalSamples)
        guard length > 0, !blockMins.isEmpty else { return Waveform(sampleRate: sampleRate, totalSamples: 0, data: []) }
        var data = [Float]()
        data.reserveCapacity(2 * length)
        for pixel in 0..<length {
            // Blocks overlapping [pixel*spp, (pixel+1)*spp), by sample position.
            let startSample = pixel * totalSamples / length
            let endSample = max(startSample + 1, (pixel + 1) * totalSamples / length)
            let first = min(startSample / blockSize, blockMins.count - 1)
            let last = max(first, min((endSample - 1) / blockSize, blockMins.count - 1))
            var lo = Float.infinity
            var hi = -Float.infinity
            for block in first...last {
                lo = min(lo, blockMins[block])
                hi = max(hi, blockMaxs[block])
            }
            data.append(Self.clamp(lo))
            data.append(Self.clamp(hi))
        }
        return Waveform(sampleRate: sampleRate, totalSamples: totalSamples, data: data)
    }

    private static func clamp(_ value: Float) -> Float {
        value.isFinite ? max(-1, min(1, value)) : 0
    }
}
