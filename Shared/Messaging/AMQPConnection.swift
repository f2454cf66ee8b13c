import CRabbitMQ
import Foundation

/// Why an AMQP operation failed: the whole connection is gone, or only the channel was closed by the broker.
enum AMQPFailure: Error {
    case connection(String)
    case channel(code: UInt16, text: String)

    var text: String {
        switch self {
        case .connection(let text): text
        case .channel(let code, let text): "\(code) \(text)"
        }
    }
}

/// Copies Swift strings and bytes into C memory that stays valid until `release()`.
///
/// `amqp_bytes_t` only points at memory; `amqp_cstring_bytes(swiftString)` would dangle after the call.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    func bytes(_ string: String) -> amqp_bytes_t { bytes(Array(string.utf8)) }

    func bytes(_ bytes: [UInt8]) -> amqp_bytes_t {
        guard !bytes.isEmpty else { return mf_bytes(nil, 0) }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { source in
            pointer.copyMemory(from: source.baseAddress ?? UnsafeRawPointer(pointer), byteCount: source.count)
        }
        allocations.append(pointer)
        return mf_bytes(pointer, bytes.count)
    }

    func table(_ entries: [(key: String, value: QueueArgument)]) -> amqp_table_t {
        guard !entries.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let pointer = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: entries.count)
        for (index, entry) in entries.enumerated() {
            let key = bytes(entry.key)
            switch entry.value {
            case .string(let value): (pointer + index).initialize(to: mf_table_entry_utf8(key, bytes(value)))
            case .int(let value): (pointer + index).initialize(to: mf_table_entry_i64(key, value))
            }
        }
        allocations.append(UnsafeMutableRawPointer(pointer))
        return amqp_table_t(num_entries: Int32(entries.count), entries: pointer)
    }

    func release() {
        for allocation in allocations { allocation.deallocate() }
        allocations.removeAll()
    }

    deinit { release() }
}

extension amqp_bytes_t {
    var string: String {
        guard let bytes, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    var array: [UInt8] {
        guard let bytes, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }
}

/// A message as received, before it is wrapped in a `Delivery`.
struct ReceivedMessage: Sendable {
    var deliveryTag: UInt64
    var message: IncomingMessage
}

/// The Swift wrapper over one rabbitmq-c connection. Not thread-safe: used only on its owning thread.
final class AMQPConnection {
    enum ConsumeResult {
        case message(ReceivedMessage)
        case timeout
        /// The broker cancelled the consumer or closed the channel/connection.
        case lost(String)
    }

    enum FrameEvent {
        case ack(tag: UInt64, multiple: Bool)
        case nack(tag: UInt64, multiple: Bool)
        case channelClosed(channel: UInt16, text: String)
        case timeout
        case other
    }

    private let state: amqp_connection_state_t
    private var destroyed = false
    /// False once the socket failed or the broker closed the connection.
    private(set) var isUsable = true

    private init(state: amqp_connection_state_t) {
        self.state = state
    }

    /// Opens a TCP connection and logs in. Heartbeats are serviced only inside rabbitmq-c calls, so the
    /// owning thread must call into the library (consume/wait with a timeout) at least every few seconds.
    static func open(_ endpoint: AMQPEndpoint, heartbeatSeconds: Int32, connectTimeout: Duration = .seconds(5))
        throws(AMQPFailure) -> AMQPConnection
    {
        guard let state = amqp_new_connection() else { throw .connection("amqp_new_connection failed") }
        let connection = AMQPConnection(state: state)
        guard let socket = amqp_tcp_socket_new(state) else {
            connection.destroy()
            throw .connection("amqp_tcp_socket_new failed")
        }
        var timeout = timeval(duration: connectTimeout)
        let status = amqp_socket_open_noblock(socket, endpoint.host, endpoint.port, &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            connection.destroy()
            throw .connection("cannot connect to \(endpoint.host):\(endpoint.port): \(errorString(status))")
        }
        var rpcTimeout = timeval(duration: .seconds(10))
        _ = amqp_set_rpc_timeout(state, &rpcTimeout)
        let reply = mf_login_plain(state, endpoint.vhost, 0, 131_072, heartbeatSeconds, endpoint.user, endpoint.password)
        do {
            try connection.check(reply, channel: 0)
        } catch {
            connection.destroy()
            throw AMQPFailure.connection("login to \(endpoint.redacted) failed: \(error.text)")
        }
        return connection
    }

    /// Opens a connection to the first node of `nodes` that answers, trying them in turn from index `start` (wrapping
    /// around). Returns the connection and the index of its node; fails only when none answered, saying why for each.
    static func open(_ nodes: AMQPNodes, from start: Int, heartbeatSeconds: Int32, connectTimeout: Duration = .seconds(5))
        throws(AMQPFailure) -> (connection: AMQPConnection, node: Int)
    {
        let count = nodes.endpoints.count
        var failures: [String] = []
        for offset in 0..<count {
            let index = (start % count + offset) % count
            do {
                return (try open(nodes.endpoints[index], heartbeatSeconds: heartbeatSeconds, connectTimeout: connectTimeout), index)
            } catch {
                failures.append(error.text)
            }
        }
        throw .connection(failures.joined(separator: "; "))
    }

    static func errorString(_ status: Int32) -> String {
        guard let text = amqp_error_string2(status) else { return "status \(status)" }
        return String(cString: text)
    }

    /// Turns an RPC reply into success or an `AMQPFailure`, answering a broker-initiated close.
    func check(_ reply: amqp_rpc_reply_t, channel: UInt16) throws(AMQPFailure) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            let info = mf_decode_method(reply.reply)
            switch info.kind {
            case MF_METHOD_CHANNEL_CLOSE:
                _ = mf_send_channel_close_ok(state, channel)
                throw .channel(code: info.reply_code, text: info.reply_text.string)
            case MF_METHOD_CONNECTION_CLOSE:
                _ = mf_send_connection_close_ok(state)
                isUsable = false
                throw .connection("broker closed the connection: \(info.reply_code) \(info.reply_text.string)")
            default:
                isUsable = false
                throw .connection("unexpected server reply")
            }
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isUsable = false
            throw .connection(Self.errorString(reply.library_error))
        default:
            isUsable = false
            throw .connection("no RPC reply")
        }
    }

    private func checkLastReply(channel: UInt16) throws(AMQPFailure) {
        try check(amqp_get_rpc_reply(state), channel: channel)
    }

    func openChannel(_ channel: UInt16) throws(AMQPFailure) {
        _ = amqp_channel_open(state, channel)
        try checkLastReply(channel: channel)
    }

    func confirmSelect(channel: UInt16) throws(AMQPFailure) {
        _ = amqp_confirm_select(state, channel)
        try checkLastReply(channel: channel)
    }

    func declareExchange(_ exchange: BrokerTopology.Exchange, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_exchange_declare(
            state, channel, arena.bytes(exchange.name), arena.bytes(exchange.type),
            0, 1, 0, 0, amqp_table_t(num_entries: 0, entries: nil))
        try checkLastReply(channel: channel)
    }

    func declareQueue(_ queue: BrokerTopology.Queue, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        let arguments = arena.table(queue.arguments.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
        _ = amqp_queue_declare(state, channel, arena.bytes(queue.name), 0, 1, 0, 0, arguments)
        try checkLastReply(channel: channel)
    }

    func bindQueue(_ binding: BrokerTopology.Binding, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_queue_bind(
            state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
            arena.bytes(binding.routingKey), amqp_table_t(num_entries: 0, entries: nil))
        try checkLastReply(channel: channel)
    }

    func deleteQueue(_ name: String, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_queue_delete(state, channel, arena.bytes(name), 0, 0)
        try checkLastReply(channel: channel)
    }

    func deleteExchange(_ name: String, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_exchange_delete(state, channel, arena.bytes(name), 0)
        try checkLastReply(channel: channel)
    }

    func publish(_ message: OutgoingMessage, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        var properties = amqp_basic_properties_t()
        properties._flags = amqp_flags_t(AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG
            | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_HEADERS_FLAG)
        properties.content_type = arena.bytes(message.contentType)
        properties.delivery_mode = message.persistent ? 2 : 1
        properties.message_id = arena.bytes(message.messageId)
        properties.type = arena.bytes(message.type)
        properties.headers = arena.table(
            message.headers.sorted { $0.key < $1.key }.map { (key: $0.key, value: QueueArgument.string($0.value)) })
        let status = amqp_basic_publish(
            state, channel, arena.bytes(message.exchange), arena.bytes(message.routingKey), 0, 0, &properties,
            arena.bytes(message.body))
        guard status == AMQP_STATUS_OK.rawValue else {
            isUsable = false
            throw .connection("publish failed: \(Self.errorString(status))")
        }
    }

    func qos(prefetch: UInt16, channel: UInt16) throws(AMQPFailure) {
        _ = amqp_basic_qos(state, channel, 0, prefetch, 0)
        try checkLastReply(channel: channel)
    }

    /// One consumer per channel, so one fixed tag: `cancelConsuming` names it.
    static let consumerTag = "mediaflow-consumer"

    func startConsuming(queue: String, channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_basic_consume(
            state, channel, arena.bytes(queue), arena.bytes(Self.consumerTag), 0, 0, 0,
            amqp_table_t(num_entries: 0, entries: nil))
        try checkLastReply(channel: channel)
    }

    /// Stops the broker sending this channel's consumer any more messages (deliveries in hand stay unsettled).
    func cancelConsuming(channel: UInt16) throws(AMQPFailure) {
        let arena = CArena()
        defer { arena.release() }
        _ = amqp_basic_cancel(state, channel, arena.bytes(Self.consumerTag))
        try checkLastReply(channel: channel)
    }

    /// How many messages are ready in `queue` and how many consumers it has (a passive declare: fails with 404 when
    /// there is no such queue).
    func queueStatus(queue: String, channel: UInt16) throws(AMQPFailure) -> QueueStatus {
        let arena = CArena()
        defer { arena.release() }
        let ok = amqp_queue_declare(state, channel, arena.bytes(queue), 1, 0, 0, 0, amqp_table_t(num_entries: 0, entries: nil))
        try checkLastReply(channel: channel)
        guard let ok else { throw .connection("queue.declare-ok missing") }
        return QueueStatus(messages: Int(ok.pointee.message_count), consumers: Int(ok.pointee.consumer_count))
    }

    func ack(_ deliveryTag: UInt64, channel: UInt16) throws(AMQPFailure) {
        let status = amqp_basic_ack(state, channel, deliveryTag, 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            isUsable = false
            throw .connection("ack failed: \(Self.errorString(status))")
        }
    }

    func reject(_ deliveryTag: UInt64, requeue: Bool, channel: UInt16) throws(AMQPFailure) {
        let status = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            isUsable = false
            throw .connection("reject failed: \(Self.errorString(status))")
        }
    }

    /// Waits up to `timeout` for one delivery on `queue`'s consumer.
    func consumeMessage(queue: String, timeout: Duration) -> ConsumeResult {
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var tv = timeval(duration: timeout)
        let reply = amqp_consume_message(state, &envelope, &tv, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            let received = Self.received(from: envelope, queue: queue)
            amqp_destroy_envelope(&envelope)
            return .message(received)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return .timeout
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            // A frame other than a delivery arrived (channel/connection close, consumer cancel...).
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame(state, &frame)
            guard status == AMQP_STATUS_OK.rawValue else {
                isUsable = false
                return .lost(Self.errorString(status))
            }
            let info = mf_decode_frame(&frame)
            switch info.kind {
            case MF_METHOD_CHANNEL_CLOSE:
                _ = mf_send_channel_close_ok(state, frame.channel)
                isUsable = false
                return .lost("broker closed the channel: \(info.reply_code) \(info.reply_text.string)")
            case MF_METHOD_CONNECTION_CLOSE:
                _ = mf_send_connection_close_ok(state)
                isUsable = false
                return .lost("broker closed the connection: \(info.reply_code) \(info.reply_text.string)")
            case MF_METHOD_BASIC_CANCEL:
                isUsable = false
                return .lost("broker cancelled the consumer")
            default:
                return .timeout
            }
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isUsable = false
            return .lost(Self.errorString(reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            isUsable = false
            return .lost("server exception")
        default:
            isUsable = false
            return .lost("no reply")
        }
    }

    /// Waits up to `timeout` for one frame (publisher confirms); a zero timeout just services heartbeats.
    func waitFrame(timeout: Duration) throws(AMQPFailure) -> FrameEvent {
        var frame = amqp_frame_t()
        var tv = timeval(duration: timeout)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return .timeout }
        guard status == AMQP_STATUS_OK.rawValue else {
            isUsable = false
            throw .connection(Self.errorString(status))
        }
        guard frame.frame_type == AMQP_FRAME_METHOD else { return .other }
        let info = mf_decode_frame(&frame)
        switch info.kind {
        case MF_METHOD_BASIC_ACK: return .ack(tag: info.delivery_tag, multiple: info.multiple != 0)
        case MF_METHOD_BASIC_NACK: return .nack(tag: info.delivery_tag, multiple: info.multiple != 0)
        case MF_METHOD_CHANNEL_CLOSE:
            _ = mf_send_channel_close_ok(state, frame.channel)
            return .channelClosed(channel: frame.channel, text: "\(info.reply_code) \(info.reply_text.string)")
        case MF_METHOD_CONNECTION_CLOSE:
            _ = mf_send_connection_close_ok(state)
            isUsable = false
            throw .connection("broker closed the connection: \(info.reply_code) \(info.reply_text.string)")
        default:
            return .other
        }
    }

    /// True when frames are already read and waiting (no need to block for them).
    var hasBufferedFrames: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    /// Closes politely when the connection still works, then frees it.
    func close() {
        guard !destroyed else { return }
        if isUsable {
            _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        destroy()
    }

    private func destroy() {
        guard !destroyed else { return }
        destroyed = true
        isUsable = false
        _ = amqp_destroy_connection(state)
    }

    deinit { destroy() }

    private static func received(from envelope: amqp_envelope_t, queue: String) -> ReceivedMessage {
        let properties = envelope.message.properties
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & amqp_flags_t(flag) != 0 }
        var headers: [String: String] = [:]
        if has(AMQP_BASIC_HEADERS_FLAG), let entries = properties.headers.entries {
            for index in 0..<Int(properties.headers.num_entries) {
                let entry = entries[index]
                var value = entry.value
                var bytes = amqp_bytes_t()
                var integer: Int64 = 0
                if mf_field_bytes(&value, &bytes) != 0 {
                    headers[entry.key.string] = bytes.string
                } else if mf_field_integer(&value, &integer) != 0 {
                    headers[entry.key.string] = String(integer)
                }
                // Tables and arrays (RabbitMQ's x-death) are not representable as strings: skipped.
            }
        }
        let message = IncomingMessage(
            queue: queue,
            exchange: envelope.exchange.string,
            routingKey: envelope.routing_key.string,
            body: envelope.message.body.array,
            messageId: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? properties.message_id.string : "",
            type: has(AMQP_BASIC_TYPE_FLAG) ? properties.type.string : "",
            headers: headers,
            redelivered: envelope.redelivered != 0)
        return ReceivedMessage(deliveryTag: envelope.delivery_tag, message: message)
    }
}

extension timeval {
    init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
