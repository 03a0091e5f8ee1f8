import Foundation
public import Hummingbird
public import LienThongPostgres
public import LienThongWorker
public import Logging
public import Prometheus

/// The HTTP surface of a LienThong process (Hummingbird): `/livez`, `/readyz`, `/metrics`, and the read-only
/// status API `GET /v1/dossiers/{code}` and `GET /v1/stats` (documented in `Deploy/openapi.yaml`).
public enum OperationsServer {
    /// Builds the application; run it as a service of the process's `ServiceGroup`.
    /// - Parameters:
    ///   - host, port: where to listen (port 0: any free port, see `onServerRunning`).
    ///   - health: answers the probes.
    ///   - registry: the Prometheus registry the metrics factory writes to.
    ///   - database: the connection the status API reads with.
    ///   - readModel: the status API's queries (nil, or no database: the API answers 404).
    ///   - onServerRunning: called with the bound port once listening.
    public static func build(
        host: String, port: Int, health: HealthMonitor, registry: PrometheusCollectorRegistry,
        database: PostgresConnection?, readModel: DossierReadModel?, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("livez") { _, _ -> Response in
            let stalled = health.stalledLoops()
            return stalled.isEmpty
                ? json(.ok, ["status": "alive"])
                : json(.serviceUnavailable, ["status": "stalled", "stalledLoops": stalled])
        }
        router.get("readyz") { _, _ -> Response in
            let readiness = await health.readiness()
            return readiness.isReady
                ? json(.ok, ["status": "ready"])
                : json(.serviceUnavailable, ["status": "not_ready", "reasons": readiness.reasons])
        }
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("v1/dossiers/:code") { _, context -> Response in
            guard let database, let readModel else {
                return json(.notFound, ["error": "no status API in this process"])
            }
            let code = try context.parameters.require("code")
            do {
                guard let view = try await readModel.dossier(code, on: database) else {
                    return json(.notFound, ["error": "no such dossier"])
                }
                return try encoded(.ok, view)
            } catch {
                logger.warning("status API query failed", metadata: ["http.error": "\(error)"])
                return json(.serviceUnavailable, ["error": "database unavailable"])
            }
        }
        router.get("v1/stats") { request, _ -> Response in
            guard let database, let readModel else {
                return json(.notFound, ["error": "no status API in this process"])
            }
            let query = request.uri.queryParameters
            let periodText = query["period"].map(String.init) ?? "month"
            guard let period = DossierReadModel.Period(rawValue: periodText) else {
                return json(.badRequest, ["error": "period must be day, week or month"])
            }
            let invalidDates = json(.badRequest, ["error": "from and to are days, yyyy-MM-dd, from before to"])
            var from = Date().addingTimeInterval(-90 * 86_400)
            var to = Date()
            if let text = query["from"].map(String.init) {
                guard let day = day(text) else { return invalidDates }
                from = day
            }
            if let text = query["to"].map(String.init) {
                guard let day = day(text) else { return invalidDates }
                to = day.addingTimeInterval(86_400)
            }
            guard from < to else { return invalidDates }
            do {
                let rates = try await readModel.onTimeRates(period: period, from: from, to: to, on: database)
                return try encoded(.ok, StatsResponse(period: period.rawValue, from: from, to: to, rates: rates))
            } catch {
                logger.warning("status API query failed", metadata: ["http.error": "\(error)"])
                return json(.serviceUnavailable, ["error": "database unavailable"])
            }
        }
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        return Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: serverLogger)
    }

    /// The body of `GET /v1/stats`.
    struct StatsResponse: Encodable {
        var period: String
        var from: Date
        var to: Date
        var rates: [OnTimeRate]
    }

    /// A `yyyy-MM-dd` day in Vietnam time.
    static func day(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 7 * 3600)
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: text)
    }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return body(status, data)
    }

    private static func encoded(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return body(status, try encoder.encode(value))
    }

    private static func body(_ status: HTTPResponse.Status, _ data: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
