// Shim additions for the audio pipeline.
// Nothing audio-only is needed yet: Shared/AV/Audio uses the shared helpers in video_shim.h
// (mf_swr_convert_frames, mf_audio_fifo_write_frame/read_frame) and av_channel_layout_default (a function)
// instead of the AV_CHANNEL_LAYOUT_* compound-literal macros.
#pragma once
