import Foundation
import LienThongDomain
import LienThongHTTP
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The metric names a Prometheus exposition declares (`# TYPE name kind`), histograms with their series suffixes.
func exposedMetricNames(_ exposition: String) -> Set<String> {
    var names: Set<String> = []
    for line in exposition.split(separator: "\n") where line.hasPrefix("# TYPE ") {
        let parts = line.split(separator: " ")
        guard parts.count >= 4 else { continue }
        let name = String(parts[2])
        names.insert(name)
        if parts[3] == "histogram" { names.formUnion(["_bucket", "_sum", "_count"].map { name + $0 }) }
    }
    return names
}

/// GET `path` on the local server: status and body.
func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
    let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

private func object(_ body: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
}

private func event(_ dossier: String, _ version: Int, _ type: String, _ data: String, id: String? = nil) -> String {
    """
    {"specversion":"1.0","id":"\(id ?? "\(dossier)-v\(version)")","source":"/agencies/001.00.80.H26",\
    "type":"vn.gov.lienthong.\(type)","time":"2025-07-0\(1 + version)T09:00:00+07:00","subject":"\(dossier)",\
    "dossierversion":\(version),"produceragency":"001.00.80.H26","correlationid":"c-\(dossier)","data":\(data)}
    """
}

@Suite("Operations: metrics, probes, status API, dead-letter replay, triage assignment")
struct OperationsSurfaceTests {
    let logger = Logger(label: "lienthong.test")

    @Test func aWorkerRunIsVisibleInMetricsProbesAndTheStatusAPI() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let inbound = try await kafka.createTopic("dossier.events", partitions: 2)
            let topics = try await createOutboundTopics(kafka, partitions: 2)
            let connection = try await migratedConnection(database)
            let registry = PrometheusCollectorRegistry()
            let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))

            let opening = openingData(procedure: "1.001193")
            let resolved = "001.00.80.H26-250702-0001"
            let open = "001.00.80.H26-250702-0002"
            var values = [
                event(resolved, 1, "dossier.received", opening),
                event(resolved, 2, "dossier.status-changed", #"{"status":4}"#),
                event(resolved, 3, "dossier.status-changed", #"{"status":9}"#),
                event(open, 1, "dossier.received", opening),
                event(open, 2, "dossier.status-changed", #"{"status":10}"#),
            ]
            values.append(#"{"specversion": "1.0", "id": "#)
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send(
                values.map { KafkaProducerMessage(topic: inbound, key: resolved, value: $0) })
            {
                _ = try result.get()
            }

            var writer = DossierBatchWriter(
                consumerGroup: kafka.uniqueName("workers"), referenceData: testReferenceData)
            writer.topics = topics
            var consumerConfiguration = kafka.consumerConfiguration(group: "workers")
            consumerConfiguration.statisticsInterval = .seconds(1)
            let worker = try DossierEventWorker(
                consumerConfiguration: consumerConfiguration, topic: inbound,
                connections: [try await database.connect()],
                positionsConnection: try await database.connect(), writer: writer, metrics: metrics, logger: logger)
            let running = Task { await worker.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await count("SELECT count(*) FROM inbox", on: connection) < values.count,
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(100))
            }
            let relay = OutboxRelay(
                connection: try await database.connect(), producer: producer, metrics: metrics, logger: logger)
            while try await relay.publishPending() > 0 {}
            let sample = try await OperationalGauges(metrics: metrics).sample(on: connection)
            #expect(sample.outboxBacklog == 0)
            var watcher = DeadlineWatcher(calendar: testReferenceData.calendar)
            watcher.topics = topics
            watcher.metrics = metrics
            _ = try await watcher.scan(at: Date(), on: connection)
            let lagDeadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < lagDeadline {
                let exposed = exposedMetricNames(registry.emitToString())
                if exposed.contains(WorkerMetrics.Name.consumerLag)
                    && exposed.contains(WorkerMetrics.Name.consumerCommittedOffset)
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }

            let health = HealthMonitor(heartbeatLimit: .seconds(30)) {
                HealthMonitor.Readiness(isReady: worker.hasAssignment)
            }
            health.watch("consumer") { worker.timeSinceLastPoll }
            let boundPort = Mutex(0)
            let application = OperationsServer.build(
                host: "127.0.0.1", port: 0, health: health, registry: registry, database: connection,
                readModel: DossierReadModel(catalogue: testReferenceData.router.catalogue), logger: logger,
                onServerRunning: { port in boundPort.withLock { $0 = port } })
            let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: logger)
            let serving = Task { try await group.run() }
            while boundPort.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
            let port = boundPort.withLock { $0 }

            #expect(try await get(port, "/livez").status == 200)
            #expect(try await get(port, "/readyz").status == 200)
            let exposition = try await get(port, "/metrics")
            #expect(exposition.status == 200)
            let text = exposition.body
            #expect(text.contains(#"lienthong_events_total{type="received",outcome="applied"} 2"#))
            #expect(text.contains(#"lienthong_events_total{type="status-changed",outcome="rejected"} 1"#))
            #expect(text.contains(#"lienthong_dead_letters_total{error_class="malformed"} 1"#))
            #expect(text.contains(#"lienthong_rebalances_total{kind="assigned"}"#))
            #expect(!text.contains("250702"), "no dossier code in a label")
            #expect(!text.contains("00004"), "no unit code in a label")
            for name in [
                WorkerMetrics.Name.consumerLag, WorkerMetrics.Name.consumerCommittedOffset,
                WorkerMetrics.Name.batchSize, WorkerMetrics.Name.transactionDuration,
                WorkerMetrics.Name.applyLatency, WorkerMetrics.Name.publishLatency, WorkerMetrics.Name.outboxBacklog,
                WorkerMetrics.Name.outboxOldestAge, WorkerMetrics.Name.slaWarnings, WorkerMetrics.Name.overdueDossiers,
            ] {
                #expect(exposedMetricNames(text).contains(name), "\(name) is exposed")
            }

            let dossier = try await get(port, "/v1/dossiers/\(resolved)")
            #expect(dossier.status == 200)
            let view = try object(dossier.body)
            #expect(view["status"] as? Int == 9)
            let onTimeClass = try #require(view["onTimeClass"] as? String, "classified at resolution")
            #expect((view["history"] as? [Any])?.count == 3)
            #expect(try await get(port, "/v1/dossiers/001.00.80.H26-250702-0404").status == 404)
            let stats = try await get(port, "/v1/stats?period=month&from=2025-07-01&to=2025-07-31")
            #expect(stats.status == 200)
            let rates = try #require(try object(stats.body)["rates"] as? [[String: Any]])
            #expect(rates.count == 1)
            #expect(rates.first?["level"] as? String == "commune")
            #expect(rates.first?["periodStart"] as? String == "2025-07-01")
            #expect(rates.first?["resolved"] as? Int == 1)
            #expect(rates.first?["onTimeRate"] as? Double == (onTimeClass == "late" ? 0 : 1))
            #expect(try await get(port, "/v1/stats?period=year").status == 400)
            #expect(try await get(port, "/v1/stats?from=2025-13-01").status == 400)

            // The dashboard and the alert rules only name metrics this exposition has.
            let exposed = exposedMetricNames(text).union(["lienthong_build_info"])
            for file in ["grafana/dashboards/lienthong.json", "prometheus/alerts.yml"] {
                let content = try String(contentsOfFile: deployDirectory + "/" + file, encoding: .utf8)
                let named = Set(
                    content.matches(of: /lienthong_[a-z_]+/).map { String($0.output) }
                        .filter { !$0.hasPrefix("lienthong_workers") })
                #expect(!named.isEmpty)
                #expect(named.subtracting(exposed).isEmpty, "\(file) names \(named.subtracting(exposed))")
            }

            health.beginStopping()
            #expect(try await get(port, "/readyz").status == 503)
            await worker.close()
            await running.value
            await group.triggerGracefulShutdown()
            try await serving.value
            await producer.close()
            await connection.close()
        }
    }

    @Test func aRevokedPartitionsLagAndCommittedOffsetAreNoLongerExposed() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        metrics.setConsumerPartition(
            ConsumerPartitionStatistics(topic: "dossier.events", partition: 0, lag: 60_000, committedOffset: 1200))
        metrics.setConsumerPartition(
            ConsumerPartitionStatistics(topic: "dossier.events", partition: 1, lag: 5, committedOffset: 70))
        metrics.forgetConsumerPartitions([KafkaTopicPartition(topic: "dossier.events", partition: 0)])
        let afterRevoke = registry.emitToString()
        #expect(!afterRevoke.contains(#"partition="0""#), "another member drains it now")
        #expect(afterRevoke.contains(#"lienthong_consumer_lag{topic="dossier.events",partition="1"} 5"#))
        #expect(afterRevoke.contains(#"lienthong_consumer_committed_offset{topic="dossier.events",partition="1"} 70"#))
        metrics.setConsumerPartition(
            ConsumerPartitionStatistics(topic: "dossier.events", partition: 0, lag: 7, committedOffset: nil))
        #expect(registry.emitToString().contains(#"lienthong_consumer_lag{topic="dossier.events",partition="0"} 7"#))
        #expect(
            !registry.emitToString().contains(
                #"lienthong_consumer_committed_offset{topic="dossier.events",partition="0"}"#))
    }

    @Test func statisticsGiveEachAssignedPartitionsLagAndCommittedOffset() {
        // The fields librdkafka 2.0.2 writes, trimmed: partition -1 is its internal one; -1 is an unknown lag and
        // -1001 an offset not committed yet.
        let json = """
            {"name": "rdkafka#consumer-1", "type": "consumer", "topics": {
              "dossier.events": {"topic": "dossier.events", "partitions": {
                "0": {"partition": 0, "consumer_lag": 12, "committed_offset": 4800, "stored_offset": 4810},
                "1": {"partition": 1, "consumer_lag": -1, "committed_offset": 300},
                "2": {"partition": 2, "consumer_lag": 250, "committed_offset": -1001},
                "3": {"partition": 3, "consumer_lag": -1, "committed_offset": -1001},
                "-1": {"partition": -1, "consumer_lag": -1, "committed_offset": -1001}}},
              "dossier.other": {"topic": "dossier.other", "partitions": {
                "0": {"partition": 0, "consumer_lag": 0, "committed_offset": 9}}}}}
            """
        #expect(
            ConsumerStatistics.partitions(in: json) == [
                ConsumerPartitionStatistics(topic: "dossier.events", partition: 0, lag: 12, committedOffset: 4800),
                ConsumerPartitionStatistics(topic: "dossier.events", partition: 1, lag: nil, committedOffset: 300),
                ConsumerPartitionStatistics(topic: "dossier.events", partition: 2, lag: 250, committedOffset: nil),
                ConsumerPartitionStatistics(topic: "dossier.other", partition: 0, lag: 0, committedOffset: 9),
            ])
        #expect(ConsumerStatistics.partitions(in: "not json").isEmpty)
    }

    @Test func aRejectedEventIsReplayedAfterAFixAndATriagedDossierIsAssigned() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let inbound = try await kafka.createTopic("dossier.events", partitions: 1)
            let connection = try await migratedConnection(database)
            let writer = DossierBatchWriter(consumerGroup: "workers", referenceData: testReferenceData)
            let split = "001.00.80.H26-250620-0009"
            let invalid = try consumed("dossier.status-changed", version: 2, data: #"{"status":10}"#, offset: 1)
            _ = try await connection.withTransaction { session in
                try writer.write(
                    [
                        try consumed(
                            "dossier.received", version: 1, data: openingData(procedure: "1.001193"), offset: 0),
                        invalid,
                        try consumed(
                            "dossier.received", dossier: split, version: 1,
                            data: openingData(procedure: "1.001193", commune: "00007"), offset: 2,
                            time: "2025-06-20T09:00:00+07:00"),
                    ], in: session)
            }

            // Triage: a person picks one of the successor communes.
            let assignment = TriageAssignment()
            await #expect(
                throws: TriageAssignment.Refusal.notACandidate(unit: "00004", candidates: ["00008", "00025"])
            ) {
                try await assignment.assign(dossier: split, unit: "00004", by: "chi.nguyen", on: connection)
            }
            let resolvedReasons = try await assignment.assign(
                dossier: split, unit: "00025", by: "chi.nguyen", on: connection)
            #expect(resolvedReasons == ["split_pre_merger_unit"])
            let entry = try await connection.query(
                "SELECT assigned_unit, resolved_by, resolved_at IS NOT NULL FROM triage WHERE dossier = \(split)")[0]
            #expect(try entry.decode((String, String, Bool).self) == ("00025", "chi.nguyen", true))
            #expect(
                try await count(
                    "SELECT count(*) FROM dossier WHERE code = \(split) AND commune = '00025'", on: connection)
                    == 1)
            #expect(
                try await count(
                    "SELECT count(*) FROM outbox WHERE event_type = 'vn.gov.lienthong.dossier.triage-resolved'",
                    on: connection) == 1)
            await #expect(throws: TriageAssignment.Refusal.noOpenEntry(dossier: split)) {
                try await assignment.assign(dossier: split, unit: "00025", by: "chi.nguyen", on: connection)
            }

            // Dead letters: shown with CCCDs masked, replayed once, recorded, evaluated again (not a duplicate).
            let letterID = "dlq-dossier.events-0-1"
            let shown = try runLienThongToEnd(["dlq", "show", letterID, "--database-url", database.url])
            #expect(shown.status == 0, "\(shown.output)")
            #expect(shown.output.contains("invalid_transition"))
            #expect(shown.output.contains(#""status":10"#), "the original bytes")
            let replay = DeadLetterReplay(connection: connection)
            var selection = DeadLetterReplay.Selection()
            selection.errorClass = "invalid_transition"
            let letters = try await replay.select(selection)
            #expect(letters.map(\.id) == [letterID])
            #expect(letters.first?.value == invalid.bytes)
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            let results = try await replay.replay(
                letters, to: inbound, producer: producer, by: "chi.nguyen", note: "catalogue fixed")
            let delivery = try results[0].get()
            await producer.close()
            #expect(try await replay.select(selection).isEmpty, "a replayed letter is not chosen again")
            selection.includeReplayed = true
            #expect(try await replay.select(selection).first?.replayedAt != nil)
            #expect(
                try await count(
                    "SELECT count(*) FROM dead_letter_replay WHERE dead_letter_id = \(letterID) AND note = 'catalogue fixed'",
                    on: connection) == 1)

            let again = ConsumedEvent(
                topic: "dossier.events", partition: 0, offset: delivery.offset + 100, bytes: invalid.bytes,
                event: invalid.event)
            let outcomes = try await connection.withTransaction { try writer.write([again], in: $0) }
            guard case .rejected = outcomes.first else {
                Issue.record("a replayed event is evaluated again, not a duplicate: \(outcomes)")
                return
            }
            #expect(
                try await count(
                    "SELECT \"offset\" FROM inbox WHERE event_id = \(invalid.event.id)", on: connection)
                    == Int(delivery.offset + 100),
                "the inbox points at the replayed record")
            await connection.close()
        }
    }
}
