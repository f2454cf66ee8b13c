import CVips

/// Owns one reference to a `VipsImage` and drops it when released, so every path frees every image.
/// Not `Sendable`: an instance lives inside one `ImagePipeline.process` call on one thread.
final class VipsImageRef {
    typealias Output = UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>

    let pointer: UnsafeMutablePointer<VipsImage>

    init(taking pointer: UnsafeMutablePointer<VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        g_object_unref(pointer)
    }

    /// Runs a libvips call that produces an image through an out-parameter, checking its return code.
    static func make(_ what: String, _ call: (Output) -> Int32) throws(ImagingError) -> VipsImageRef {
        var out: UnsafeMutablePointer<VipsImage>?
        let status = call(&out)
        guard status == 0, let out else {
            if let out { g_object_unref(out) }
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "\(what) failed"))
        }
        return VipsImageRef(taking: out)
    }

    /// Runs an operation on this image.
    func apply(
        _ what: String, _ call: (UnsafeMutablePointer<VipsImage>, Output) -> Int32
    ) throws(ImagingError) -> VipsImageRef {
        try VipsImageRef.make(what) { out in call(pointer, out) }
    }

    /// Decodes the whole (lazy) pipeline into a memory image; decoding errors surface here. With `cancellation`
    /// the computation stops once it is raised.
    func copyToMemory(_ cancellation: ImagingCancellation? = nil) throws(ImagingError) -> VipsImageRef {
        cancellation?.watch(self)
        guard let copy = vips_image_copy_memory(pointer) else {
            if cancellation?.isCancelled == true {
                _ = VipsRuntime.takeErrorMessage(fallback: "")
                throw .cancelled()
            }
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "decoding failed"))
        }
        return VipsImageRef(taking: copy)
    }

    var width: Int { Int(vips_image_get_width(pointer)) }
    var height: Int { Int(vips_image_get_height(pointer)) }
    var bands: Int { Int(vips_image_get_bands(pointer)) }
    var hasAlpha: Bool { vips_image_hasalpha(pointer) != 0 }
    var interpretation: VipsInterpretation { vips_image_get_interpretation(pointer) }
    var bandFormat: VipsBandFormat { vips_image_get_format(pointer) }
    /// EXIF orientation 1–8 (1 when absent).
    var orientation: Int { Int(vips_image_get_orientation(pointer)) }
    /// Frames in the file (1 when the loader does not say).
    var pageCount: Int { max(1, Int(vips_image_get_n_pages(pointer))) }

    /// The pixels of an image held in memory (a `copyToMemory` result), band-interleaved rows with no padding; nil
    /// for an image that would have to be computed first.
    var memoryPixels: UnsafeRawPointer? {
        guard pointer.pointee.dtype == VIPS_IMAGE_SETBUF || pointer.pointee.dtype == VIPS_IMAGE_SETBUF_FOREIGN else { return nil }
        return UnsafeRawPointer(pointer.pointee.data)
    }

    func hasField(_ name: String) -> Bool {
        vips_image_get_typeof(pointer, name) != 0
    }

    /// Names of all metadata fields attached to the image.
    var fieldNames: [String] {
        guard let fields = vips_image_get_fields(pointer) else { return [] }
        defer { g_strfreev(fields) }
        var names: [String] = []
        var index = 0
        while let name = fields[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }

    /// Whether the alpha band is fully opaque (255) everywhere.
    func alphaIsOpaque() throws(ImagingError) -> Bool {
        var opaque: Int32 = 0
        guard mf_alpha_is_opaque(pointer, &opaque) == 0 else {
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "alpha check failed"))
        }
        return opaque != 0
    }

    /// Values of every band at one pixel.
    func pixel(x: Int, y: Int) throws(ImagingError) -> [Double] {
        var values: UnsafeMutablePointer<Double>?
        var count: Int32 = 0
        guard mf_getpoint(pointer, Int32(x), Int32(y), &values, &count) == 0, let values else {
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "getpoint failed"))
        }
        defer { g_free(values) }
        return Array(UnsafeBufferPointer(start: values, count: Int(count)))
    }

    /// Encodes the image with a libvips save-to-buffer call and copies the bytes out.
    func encode(
        _ what: String, cancellation: ImagingCancellation? = nil,
        _ call: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<Int>) -> Int32
    ) throws(ImagingError) -> [UInt8] {
        cancellation?.watch(self)
        var bytes: UnsafeMutableRawPointer?
        var length = 0
        let status = call(pointer, &bytes, &length)
        defer { g_free(bytes) }
        guard status == 0, let bytes else {
            if cancellation?.isCancelled == true {
                _ = VipsRuntime.takeErrorMessage(fallback: "")
                throw .cancelled()
            }
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "\(what) failed"))
        }
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: length))
    }
}
