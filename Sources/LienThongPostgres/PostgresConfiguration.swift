/// How to reach PostgreSQL.
///
/// ``connectionString`` is anything libpq accepts: a conninfo string (`host=pg-a,pg-b port=5432 dbname=app
/// target_session_attrs=read-write`) or a URI (`postgresql://user@pg-a:5432,pg-b:5432/app?sslmode=verify-full`).
/// What it leaves unset comes from libpq's own `PG*` environment variables (`PGHOST`, `PGPASSFILE`, …), so
/// multi-host failover, SSL modes and password files work as libpq documents them.
public struct PostgresConfiguration: Sendable {
    /// A libpq conninfo string or URI. Default: empty (libpq defaults and `PG*` variables only).
    public var connectionString: String
    /// `application_name`, shown in `pg_stat_activity`, unless the connection string sets one. Default: `lienthong`.
    public var applicationName: String = "lienthong"
    /// `connect_timeout` per host, unless the connection string sets one. Default: 10 s.
    public var connectTimeout: Duration = .seconds(10)

    /// Creates a configuration from a conninfo string or URI.
    public init(connectionString: String = "") {
        self.connectionString = connectionString
    }

    /// libpq keyword/value pairs: our defaults first, then the expanded connection string, which overrides them.
    var libpqParameters: [(String, String)] {
        var parameters = [
            ("application_name", applicationName),
            ("connect_timeout", String(max(1, connectTimeout.components.seconds))),
        ]
        if !connectionString.isEmpty { parameters.append(("dbname", connectionString)) }
        return parameters
    }
}
