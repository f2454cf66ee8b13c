@testable import AV
import Foundation
import Testing

@Suite("Waveform peaks")
struct WaveformTests {
    @Test("a ramp from -1 to 1 gives 800 ordered pairs covering the range; memory stays bounded")
    func ramp() throws {
        let total = 44_100 * 30
        var builder = WaveformBuilder(pixels: 800, sampleRate: 44_100)
        let samples = (0..<total).map { Float($0) / Float(total - 1) * 2 - 1 }
        // Fed in uneven chunks, as a decoder would.
        var offset = 0
        var chunk = 1
        while offset < total {
            let n = min(chunk, total - offset)
            samples.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { builder.add(planes: [base + offset], count: n) }
            }
            offset += n
            chunk = chunk * 3 % 5_000 + 7
        }
        let waveform = builder.finish()
        #expect(waveform.length == 800)
        #expect(waveform.totalSamples == total)
        #expect(waveform.data.first == -1)
        #expect(waveform.data.last == 1)
        for i in 0..<800 {
            let (lo, hi) = (waveform.data[2 * i], waveform.data[2 * i + 1])
            #expect(lo <= hi)
            // Pixel i covers about [-1 + 2i/800, -1 + 2(i+1)/800].
            #expect(abs(lo - (-1 + 2 * Float(i) / 800)) < 0.01)
            #expect(abs(hi - (-1 + 2 * Float(i + 1) / 800)) < 0.01)
        }
    }

    @Test("peaks are the min and max over all channels; JSON has the documented shape")
    func channelsAndJSON() throws {
        var builder = WaveformBuilder(pixels: 4, sampleRate: 44_100)
        let left: [Float] = [0.5, 0.1, 0, 0, 0, 0, 0, -0.25]
        let right: [Float] = [0, 0, -0.75, 0, 0, 2, 0, 0]
        left.withUnsafeBufferPointer { l in
            right.withUnsafeBufferPointer { r in
                if let l = l.baseAddress, let r = r.baseAddress { builder.add(planes: [l, r], count: 8) }
            }
        }
        let waveform = builder.finish()
        #expect(waveform.data == [0, 0.5, -0.75, 0, 0, 1, -0.25, 0])
        let json = try #require(try JSONSerialization.jsonObject(with: waveform.jsonData()) as? [String: Any])
        #expect(json["length"] as? Int == 4)
        #expect(json["samples_per_pixel"] as? Double == 2)
        #expect(json["data"] as? [Double] == [0, 0.5, -0.75, 0, 0, 1, -0.25, 0])
    }
}
