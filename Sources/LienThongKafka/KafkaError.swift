/// An error from the Kafka wrapper.
///
/// `description` is generic and safe to log: it names the operation, the librdkafka error name and, for
/// configuration errors, the property, never a property value or message payload.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A property is unknown to librdkafka, has an invalid value, or conflicts with the wrapper's contract.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// librdkafka refused to create the client.
        public static let clientCreation = Code("clientCreation")
        /// Subscribing to topics failed.
        public static let subscription = Code("subscription")
        /// A message could not be enqueued for production.
        public static let produce = Code("produce")
        /// A produced message was not delivered.
        public static let delivery = Code("delivery")
        /// Storing or committing offsets failed.
        public static let offsets = Code("offsets")
        /// A metadata request failed, or named an unknown topic.
        public static let metadata = Code("metadata")
        /// Pause, resume, seek or an assignment query failed.
        public static let partitionOperation = Code("partitionOperation")
        /// A broker or protocol error reported by librdkafka outside a specific call.
        public static let broker = Code("broker")
        /// An operation on the embedded broker failed.
        public static let embeddedBroker = Code("embeddedBroker")
        /// The client was closed.
        public static let closed = Code("closed")
        /// The operation did not complete in time.
        public static let timedOut = Code("timedOut")
    }

    /// What failed.
    public let code: Code
    /// librdkafka's error code (`rd_kafka_resp_err_t`), when librdkafka reported one.
    public let librdkafkaCode: Int32?
    /// librdkafka's symbolic error name, e.g. `_TRANSPORT` or `NOT_COORDINATOR`.
    public let librdkafkaName: String?
    /// The configuration property at fault, for `.invalidConfiguration`.
    public let property: String?
    /// librdkafka's or the wrapper's explanation.
    public let reason: String
    /// Retrying the same operation may succeed (transport errors, timeouts, leader changes, a full queue).
    public let isRetriable: Bool
    /// The client is unusable and must be recreated (`_FATAL`, e.g. an idempotence sequence violation).
    public let isFatal: Bool
    /// Where the error was raised.
    public let file: String
    /// Where the error was raised.
    public let line: Int

    package init(
        code: Code,
        reason: String,
        property: String? = nil,
        librdkafkaCode: Int32? = nil,
        librdkafkaName: String? = nil,
        isRetriable: Bool = false,
        isFatal: Bool = false,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.property = property
        self.librdkafkaCode = librdkafkaCode
        self.librdkafkaName = librdkafkaName
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "KafkaError.\(code)"
        if let property { text += " (property \(property))" }
        if let librdkafkaName { text += " [\(librdkafkaName)]" }
        return text + ": \(reason)"
    }
}
