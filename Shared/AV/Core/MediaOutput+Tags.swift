import CAV

// Added by the audio pipeline: container tags (the MP3 muxer writes them as ID3v2 frames).
extension MediaOutput {
    /// Sets container-level metadata tags; call before `writeHeader`.
    public func setTags(_ tags: [(key: String, value: String)]) {
        guard let ctx = context else { return }
        for (key, value) in tags { av_dict_set(&ctx.pointee.metadata, key, value, 0) }
    }
}
