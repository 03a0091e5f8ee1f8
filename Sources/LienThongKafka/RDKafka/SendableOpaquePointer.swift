/// A C handle that may cross threads.
///
/// - Important: `@unchecked` is sound because the box never dereferences the pointer; whoever uses it
///   (`RDKafkaClient`, `RDKafkaMockCluster`) guarantees that the object is alive and that librdkafka documents
///   the call as thread-safe.
struct SendableOpaquePointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
