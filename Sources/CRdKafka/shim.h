#ifndef LIENTHONG_CRDKAFKA_SHIM_H
#define LIENTHONG_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// rd_kafka_producev is variadic and its RD_KAFKA_V_* arguments are macros: Swift can call neither.
/// Ownership of `headers` passes to librdkafka on success only (as with RD_KAFKA_V_HEADERS).
static inline rd_kafka_resp_err_t lt_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                             const void *key, size_t key_len, const void *value,
                                             size_t value_len, rd_kafka_headers_t *headers,
                                             void *opaque) {
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

/// RD_KAFKA_PARTITION_UA is a casting macro Swift does not import.
static inline int32_t lt_partition_unassigned(void) { return RD_KAFKA_PARTITION_UA; }

#endif
