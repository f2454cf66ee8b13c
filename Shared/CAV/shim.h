// libavformat/libavcodec/libswscale/libswresample for Swift. Function declarations import as they are;
// what Swift cannot import (function-like and cast macros, compound literals) is re-exposed here.
#ifndef MEDIAFLOW_CAV_SHIM_H
#define MEDIAFLOW_CAV_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libavutil/imgutils.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/dict.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

// AVERROR(e) and friends are function-like macros.
static inline int mf_averror(int errnum) { return AVERROR(errnum); }
static inline int mf_averror_eof(void) { return AVERROR_EOF; }
static inline int mf_averror_eagain(void) { return AVERROR(EAGAIN); }
// AV_NOPTS_VALUE is a cast macro.
static inline int64_t mf_nopts_value(void) { return AV_NOPTS_VALUE; }
// AV_TIME_BASE_Q is a compound literal.
static inline AVRational mf_time_base_q(void) { return (AVRational){1, AV_TIME_BASE}; }

// Parts owned by the video and audio pipelines (kept apart so both can grow without conflicts).
#include "video_shim.h"
#include "audio_shim.h"

#endif
