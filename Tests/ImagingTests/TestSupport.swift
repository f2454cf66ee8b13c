import Foundation
import MediaDomain
import Imaging
import Testing

/// The five image renditions of the spec (§2), as the ImageService maps them.
let standardRenditions = RenditionCatalog.image

/// Processes a fixture with the standard renditions.
func processFixture(
    _ name: String, outputs: [ImageRenditionSpec] = standardRenditions,
    limits: ImageProcessingLimits = ImageProcessingLimits()
) throws -> ProcessedImage {
    try ImagePipeline().process(file: try Fixtures.path(name), outputs: outputs, limits: limits)
}

/// The error a fixture fails with, or nil when it is processed.
func processingError(_ name: String, limits: ImageProcessingLimits = ImageProcessingLimits()) throws -> ImagingError? {
    let path = try Fixtures.path(name)
    do {
        _ = try ImagePipeline().process(file: path, outputs: standardRenditions, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// "WxH" of every rendition, by name.
func sizes(_ image: ProcessedImage) -> [String: String] {
    Dictionary(uniqueKeysWithValues: image.renditions.map { ($0.name, "\($0.width)x\($0.height)") })
}

extension ProcessedImage {
    func rendition(_ name: String) throws -> RenderedImage {
        try #require(renditions.first { $0.name == name })
    }
}

/// Decodes an output again (with libvips) to check what was really written.
func decode(_ rendition: RenderedImage, at points: [(x: Int, y: Int)] = []) throws -> ImageInfo {
    try ImageInspector.inspect(bytes: rendition.data, samplingPixelsAt: points)
}

/// The marker codes of a JPEG's segments up to the start of scan (APP1 = 0xE1 carries EXIF/XMP).
func jpegMarkers(_ bytes: [UInt8]) -> [UInt8] {
    var markers: [UInt8] = []
    var index = 2
    while index + 4 <= bytes.count, bytes[index] == 0xFF {
        let marker = bytes[index + 1]
        markers.append(marker)
        if marker == 0xDA { break }
        index += 2 + (Int(bytes[index + 2]) << 8 | Int(bytes[index + 3]))
    }
    return markers
}

func contains(_ bytes: [UInt8], _ text: String) -> Bool {
    let needle = Array(text.utf8)
    guard needle.count <= bytes.count else { return false }
    return (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<$0 + needle.count]) == needle }
}

/// Whether each band is within `tolerance` of the expected value.
func near(_ actual: [Double], _ expected: [Double], tolerance: Double = 6) -> Bool {
    actual.count == expected.count && zip(actual, expected).allSatisfy { abs($0 - $1) <= tolerance }
}

/// Checks every output decodes to its reported size and format, baseline and without metadata for JPEG.
func expectWellFormed(_ image: ProcessedImage, sourceLocation: SourceLocation = #_sourceLocation) throws {
    for rendition in image.renditions {
        let info = try decode(rendition)
        #expect(info.width == rendition.width && info.height == rendition.height,
                "\(rendition.name) decodes to \(info.width)x\(info.height)", sourceLocation: sourceLocation)
        #expect(info.colourSpace == "srgb", "\(rendition.name) is \(info.colourSpace)", sourceLocation: sourceLocation)
        #expect(!info.metadataFields.contains("exif-data"), sourceLocation: sourceLocation)
        #expect(!info.metadataFields.contains("xmp-data"), sourceLocation: sourceLocation)
        #expect(!info.metadataFields.contains("icc-profile-data"), sourceLocation: sourceLocation)
        switch rendition.mimeType {
        case "image/jpeg":
            #expect(info.format == "jpeg", sourceLocation: sourceLocation)
            #expect(info.bands == 3, sourceLocation: sourceLocation)
            let markers = jpegMarkers(rendition.data)
            #expect(markers.contains(0xC0) || markers.contains(0xC1), "baseline", sourceLocation: sourceLocation)
            #expect(!markers.contains(0xE1), "no APP1 (EXIF/XMP)", sourceLocation: sourceLocation)
        case "image/webp":
            #expect(info.format == "webp", sourceLocation: sourceLocation)
        case "image/avif":
            #expect(info.format == "heif", sourceLocation: sourceLocation)
            #expect(Array(rendition.data[4..<12]) == Array("ftypavif".utf8), "an AVIF brand", sourceLocation: sourceLocation)
        default:
            Issue.record("unexpected mime type \(rendition.mimeType)", sourceLocation: sourceLocation)
        }
    }
}
