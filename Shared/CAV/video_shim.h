// Shim additions for the video pipeline (and the shared AV Core).
#pragma once

// AVERROR_INVALIDDATA and the *_NOT_FOUND codes are FFERRTAG function-like macros.
static inline int mf_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int mf_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int mf_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
static inline int mf_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int mf_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
// AV_CODEC_FLAG_GLOBAL_HEADER is (1 << 22): a shift macro Swift does not import.
static inline int mf_codec_flag_global_header(void) { return AV_CODEC_FLAG_GLOBAL_HEADER; }
// AVFrame.data / linesize are fixed-size arrays that import as tuples; index them in C.
static inline uint8_t *mf_frame_data(const AVFrame *f, int plane) { return f->data[plane]; }
static inline int mf_frame_linesize(const AVFrame *f, int plane) { return f->linesize[plane]; }
// sws_scale takes `const uint8_t *const[]`: pass the frames directly instead of building tuples in Swift.
static inline int mf_sws_scale_frames(struct SwsContext *c, const AVFrame *src, AVFrame *dst) {
    return sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data, dst->linesize);
}
// swr_convert on frames with explicit counts (the extended_data pointers are arrays of planes).
static inline int mf_swr_convert_frames(struct SwrContext *s, AVFrame *out, int out_count, const AVFrame *in) {
    return swr_convert(s, out->extended_data, out_count,
                       in ? (const uint8_t **)in->extended_data : NULL, in ? in->nb_samples : 0);
}
// av_audio_fifo_write/read take `void **`; AVFrame.extended_data is `uint8_t **`: the cast is trivial in C.
static inline int mf_audio_fifo_write_frame(AVAudioFifo *f, const AVFrame *frame, int samples) {
    return av_audio_fifo_write(f, (void **)frame->extended_data, samples);
}
static inline int mf_audio_fifo_read_frame(AVAudioFifo *f, AVFrame *frame, int samples) {
    return av_audio_fifo_read(f, (void **)frame->extended_data, samples);
}
