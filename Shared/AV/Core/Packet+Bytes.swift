import CAV

// Added by the audio pipeline (cover art): packets made from bytes, and their bytes back.
extension Packet {
    /// A packet holding a copy of `bytes` (e.g. an attached picture to decode).
    convenience init(copying bytes: [UInt8]) throws(AVError) {
        self.init()
        try AVError.check(av_new_packet(pointer, Int32(bytes.count)), "allocating a packet", default: .outOfMemory)
        if let data = pointer.pointee.data {
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { data.update(from: base, count: bytes.count) }
            }
        }
    }

    /// A copy of the packet's data.
    var bytes: [UInt8] {
        guard let data = pointer.pointee.data, pointer.pointee.size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(pointer.pointee.size)))
    }
}
