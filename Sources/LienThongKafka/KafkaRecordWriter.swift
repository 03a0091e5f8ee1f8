internal import CRdKafka

/// Queues the records of one ``KafkaProducer/send(count:records:)``, one at a time, from their parts: one
/// `produce` call per record (another traps, as does none).
///
/// Each part is read where it is and copied by librdkafka, so no ``KafkaProducerMessage`` is built per record
/// (an array of headers, and every field retained, then released).
public struct KafkaRecordWriter: ~Copyable {
    private let client: RDKafkaClient
    private let batch: DeliveryBatch
    /// The record the next `produce` queues.
    var index = 0
    /// What the last `produce` did (nil: not called).
    var outcome: EnqueueOutcome?

    init(client: RDKafkaClient, batch: DeliveryBatch) {
        self.client = client
        self.batch = batch
    }

    /// Queues the record from its parts: the partitioner hashes `key` (nil: a null key), and `headers` adds its
    /// headers, in order (`headerCount` of them, the list's initial size).
    public mutating func produce(
        topic: String, key: String?, value: [UInt8], headerCount: Int, headers: (inout KafkaHeaderList) -> Void
    ) {
        produce(
            topic: topic, partition: nil, headerCount: headerCount, headers: headers,
            key: { body in
                guard let key else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
                return KafkaBytes.withUTF8(of: key, body)
            },
            value: { KafkaBytes.withBytes(of: value, $0) })
    }

    /// Queues a record built as a message.
    public mutating func produce(_ message: borrowing KafkaProducerMessage) {
        produce(
            topic: message.topic, partition: message.partition, headerCount: message.headers.count,
            headers: { list in
                for index in message.headers.indices {
                    list.add(message.headers[index].name, bytes: message.headers[index].valueBytes)
                }
            },
            key: { message.keyBytes.withUnsafeBytes($0) }, value: { message.valueBytes.withUnsafeBytes($0) })
    }

    /// Calls its argument with a field's bytes, read in place.
    private typealias FieldBytes = ((UnsafeRawBufferPointer) -> rd_kafka_resp_err_t) -> rd_kafka_resp_err_t

    /// Builds the headers and queues the record. librdkafka owns the headers only if it took the record.
    private mutating func produce(
        topic: String, partition: Int32?, headerCount: Int, headers: (inout KafkaHeaderList) -> Void,
        key: FieldBytes, value: FieldBytes
    ) {
        precondition(outcome == nil, "one produce call per record")
        let opaque = batch.opaque(forRecord: index, topic: topic)
        let error: rd_kafka_resp_err_t
        do {
            error = try client.withHandle { handle in
                var list = KafkaHeaderList(capacity: headerCount)
                headers(&list)
                // `withCString`, not a String passed as a C string: that copies a small string to the heap.
                // (`value` is used inside `key`'s argument: the compiler needs to be told it does not escape.)
                let error = withoutActuallyEscaping(value) { value in
                    topic.withCString { topic in
                        key { key in
                            value { value in
                                lt_produce(
                                    handle, topic, partition ?? lt_partition_unassigned(), key.baseAddress, key.count,
                                    value.baseAddress, value.count, list.pointer, opaque)
                            }
                        }
                    }
                }
                if error != RD_KAFKA_RESP_ERR_NO_ERROR, let pointer = list.pointer { rd_kafka_headers_destroy(pointer) }
                return error
            }
        } catch {
            outcome = .failed(error)
            return
        }
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            outcome = .enqueued
            return
        }
        outcome =
            error == RD_KAFKA_RESP_ERR__QUEUE_FULL
            ? .queueFull : .failed(KafkaError(code: .produce, responseError: error))
    }
}

/// The headers of one record being queued, added in order (librdkafka copies the names and values).
public struct KafkaHeaderList: ~Copyable {
    /// librdkafka's list, made at the first header.
    private(set) var pointer: OpaquePointer?
    private let capacity: Int

    /// A list for about `capacity` headers.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a header with a UTF-8 string value.
    public mutating func add(_ name: String, _ value: String) {
        add(name) { KafkaBytes.withUTF8(of: value, $0) }
    }

    /// Adds a header whose value is given as bytes (nil: a null value).
    mutating func add(_ name: String, bytes: KafkaBytes?) {
        add(name) { bytes.withUnsafeBytes($0) }
    }

    private mutating func add(_ name: String, value: ((UnsafeRawBufferPointer) -> Void) -> Void) {
        let list = makeList()
        name.withCString { name in
            value { value in _ = rd_kafka_header_add(list, name, -1, value.baseAddress, value.count) }
        }
    }

    private mutating func makeList() -> OpaquePointer {
        if let pointer { return pointer }
        let list = rd_kafka_headers_new(max(capacity, 1))!
        pointer = list
        return list
    }
}

/// What queueing one record did.
enum EnqueueOutcome {
    case enqueued
    case queueFull
    case failed(KafkaError)
}
