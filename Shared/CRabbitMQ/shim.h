#ifndef MEDIAFLOW_CRABBITMQ_SHIM_H
#define MEDIAFLOW_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdint.h>
#include <string.h>

// amqp_login is variadic (SASL arguments): Swift cannot call C variadics, so PLAIN login is wrapped here.
static inline amqp_rpc_reply_t mf_login_plain(amqp_connection_state_t state, const char *vhost, int channel_max,
                                              int frame_max, int heartbeat, const char *user,
                                              const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

// amqp_bytes_t built from a pointer the caller keeps alive (amqp_cstring_bytes on a Swift String dangles).
static inline amqp_bytes_t mf_bytes(const void *bytes, size_t len) {
    amqp_bytes_t b;
    b.len = len;
    b.bytes = (void *)bytes;
    return b;
}

// amqp_field_value_t holds a union: building entries in C avoids Swift's awkward union initialisers.
static inline amqp_table_entry_t mf_table_entry_utf8(amqp_bytes_t key, amqp_bytes_t value) {
    amqp_table_entry_t e;
    memset(&e, 0, sizeof(e));
    e.key = key;
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = value;
    return e;
}

// Same reason as above, for 64-bit integers (x-message-ttl).
static inline amqp_table_entry_t mf_table_entry_i64(amqp_bytes_t key, int64_t value) {
    amqp_table_entry_t e;
    memset(&e, 0, sizeof(e));
    e.key = key;
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = value;
    return e;
}

// Reads a string-like field value out of the union; returns 1 when the value is UTF8 or raw bytes.
static inline int mf_field_bytes(const amqp_field_value_t *v, amqp_bytes_t *out) {
    if (v->kind == AMQP_FIELD_KIND_UTF8 || v->kind == AMQP_FIELD_KIND_BYTES) {
        *out = v->value.bytes;
        return 1;
    }
    return 0;
}

// Reads an integer or boolean field value out of the union; returns 1 when the value is one of those kinds.
static inline int mf_field_integer(const amqp_field_value_t *v, int64_t *out) {
    switch (v->kind) {
    case AMQP_FIELD_KIND_BOOLEAN: *out = v->value.boolean ? 1 : 0; return 1;
    case AMQP_FIELD_KIND_I8: *out = v->value.i8; return 1;
    case AMQP_FIELD_KIND_U8: *out = v->value.u8; return 1;
    case AMQP_FIELD_KIND_I16: *out = v->value.i16; return 1;
    case AMQP_FIELD_KIND_U16: *out = v->value.u16; return 1;
    case AMQP_FIELD_KIND_I32: *out = v->value.i32; return 1;
    case AMQP_FIELD_KIND_U32: *out = v->value.u32; return 1;
    case AMQP_FIELD_KIND_I64: *out = v->value.i64; return 1;
    case AMQP_FIELD_KIND_U64: *out = (int64_t)v->value.u64; return 1;
    case AMQP_FIELD_KIND_TIMESTAMP: *out = (int64_t)v->value.u64; return 1;
    default: return 0;
    }
}

/// What a received method frame or RPC reply means to us (method-number macros are casts Swift cannot import).
typedef enum {
    MF_METHOD_NONE = 0,          // not a method frame (heartbeat, content) or a method we do not care about
    MF_METHOD_BASIC_ACK = 1,
    MF_METHOD_BASIC_NACK = 2,
    MF_METHOD_CHANNEL_CLOSE = 3,
    MF_METHOD_CONNECTION_CLOSE = 4,
    MF_METHOD_BASIC_CANCEL = 5,  // the server cancelled our consumer (queue deleted)
} mf_method_kind;

typedef struct {
    mf_method_kind kind;
    uint64_t delivery_tag;
    int multiple;
    uint16_t reply_code;
    amqp_bytes_t reply_text;
} mf_method_info;

// Decodes a method (from a frame or an RPC reply) without exposing AMQP_*_METHOD cast macros to Swift.
static inline mf_method_info mf_decode_method(amqp_method_t method) {
    mf_method_info info;
    memset(&info, 0, sizeof(info));
    switch (method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *m = (const amqp_basic_ack_t *)method.decoded;
        info.kind = MF_METHOD_BASIC_ACK;
        info.delivery_tag = m->delivery_tag;
        info.multiple = m->multiple;
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *m = (const amqp_basic_nack_t *)method.decoded;
        info.kind = MF_METHOD_BASIC_NACK;
        info.delivery_tag = m->delivery_tag;
        info.multiple = m->multiple;
        break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        const amqp_channel_close_t *m = (const amqp_channel_close_t *)method.decoded;
        info.kind = MF_METHOD_CHANNEL_CLOSE;
        info.reply_code = m->reply_code;
        info.reply_text = m->reply_text;
        break;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        const amqp_connection_close_t *m = (const amqp_connection_close_t *)method.decoded;
        info.kind = MF_METHOD_CONNECTION_CLOSE;
        info.reply_code = m->reply_code;
        info.reply_text = m->reply_text;
        break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        info.kind = MF_METHOD_BASIC_CANCEL;
        break;
    default:
        break;
    }
    return info;
}

// Frame payloads are a union; this returns the method of a method frame (kind NONE for other frames).
static inline mf_method_info mf_decode_frame(const amqp_frame_t *frame) {
    if (frame->frame_type != AMQP_FRAME_METHOD) {
        mf_method_info info;
        memset(&info, 0, sizeof(info));
        return info;
    }
    return mf_decode_method(frame->payload.method);
}

// Answers a server-initiated channel.close (AMQP_CHANNEL_CLOSE_OK_METHOD is a cast macro).
static inline int mf_send_channel_close_ok(amqp_connection_state_t state, amqp_channel_t channel) {
    amqp_channel_close_ok_t ok;
    memset(&ok, 0, sizeof(ok));
    return amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}

// Answers a server-initiated connection.close (AMQP_CONNECTION_CLOSE_OK_METHOD is a cast macro).
static inline int mf_send_connection_close_ok(amqp_connection_state_t state) {
    amqp_connection_close_ok_t ok;
    memset(&ok, 0, sizeof(ok));
    return amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}

#endif
