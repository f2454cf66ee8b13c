import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import NIOCore
import Persistence
import Storage
import Testing

/// SPEC §10, issue 27 defect 8: an original served to anyone but its owner carries no location. A JPEG with EXIF GPS
/// (a GPS IFD with a latitude) and XMP GPS (`exif:GPSLatitude`), stored as a public media's original.
@Suite("Originals without location")
struct LocationPrivacyTests {
    /// A little-endian TIFF: IFD0 pointing at a GPS IFD holding LatitudeRef "N" and Latitude 52/1 31/1 12/1.
    static let tiff: [UInt8] = {
        var t: [UInt8] = Array("II".utf8) + [0x2A, 0, 8, 0, 0, 0]
        t += [1, 0] + [0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0] + [0, 0, 0, 0]   // IFD0: GPSInfo → 26
        t += [2, 0]                                                                // GPS IFD at 26: two entries
        t += [1, 0, 2, 0, 2, 0, 0, 0] + Array("N".utf8) + [0, 0, 0]                 // LatitudeRef "N"
        t += [2, 0, 5, 0, 3, 0, 0, 0, 56, 0, 0, 0]                                  // Latitude: 3 rationals at 56
        t += [0, 0, 0, 0]
        for value: UInt32 in [52, 1, 31, 1, 12, 1] { t += withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        return t
    }()
    static let xmp = Array(#"<x:xmpmeta><rdf:Description exif:GPSLatitude="52,31.2N" exif:Make="Cam"/></x:xmpmeta>"#.utf8)

    static var jpeg: [UInt8] {
        func app1(_ payload: [UInt8]) -> [UInt8] {
            [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        return [0xFF, 0xD8] + app1(Array("Exif\0\0".utf8) + tiff) + app1(Array("http://ns.adobe.com/xap/1.0/\0".utf8) + xmp)
            + Array(Samples.jpeg.dropFirst(2)) + [0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]
    }

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    static let latitude: [UInt8] = [52, 0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0]

    @Test func anotherUserGetsTheOriginalWithoutLocationAndTheOwnerGetsItAsUploaded() async throws {
        let gateway = try TestGateway()
        let uploaded = Self.jpeg
        #expect(Self.contains(uploaded, Self.latitude) && Self.contains(uploaded, Array("exif:GPSLatitude".utf8)))
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: uploaded)
        guard case .created = try await gateway.repository.create(NewMedia(
            userId: 1, username: "owner", format: .jpeg, fileSize: Int64(uploaded.count), originalFilename: "here.jpg",
            storageKey: key, isPublic: true))
        else { throw CancellationError() }
        try await gateway.test { client in
            for headers in [HTTPFields(), gateway.auth(2)] {  // anonymous, and another signed-in user
                try await client.execute(uri: "/media/\(key)", method: .get, headers: headers) { response in
                    let served = Array(response.body.readableBytesView)
                    #expect(response.status == .ok && served.count == uploaded.count, "same length")
                    #expect(!Self.contains(served, Self.latitude), "no GPS coordinates")
                    #expect(!Self.contains(served, Array("exif:GPSLatitude".utf8)), "no XMP GPS")
                    #expect(Self.contains(served, Array("exif:Make=\"Cam\"".utf8)), "the rest of the XMP stays")
                    #expect(response.headers[.eTag]?.hasSuffix("-nl\"") == true)
                    #expect(Array(served.suffix(200)) == Array(uploaded.suffix(200)), "the image data untouched")
                }
            }
            // A range over the GPS values is patched too.
            try await client.execute(uri: "/media/\(key)", method: .get, headers: [.range: "bytes=0-99"]) { response in
                #expect(response.status == .partialContent)
                #expect(!Self.contains(Array(response.body.readableBytesView), Self.latitude))
            }
            try await client.execute(uri: "/media/\(key)", method: .get, headers: gateway.auth(1)) { response in
                #expect(Array(response.body.readableBytesView) == uploaded, "the owner gets the file as uploaded")
                #expect(response.headers[.eTag]?.hasSuffix("-nl\"") == false)
            }
        }
    }
}
