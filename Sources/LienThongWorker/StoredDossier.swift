import Foundation
import LienThongDomain
import LienThongPostgres

/// What a dossier is about, from its opening event: routing needs it for every later event.
struct DossierProfile {
    var procedure: ProcedureCode
    /// The commune as named by the sender (possibly pre-merger; resolved with the filing date when routing).
    var commune: CommuneCode
    var channel: SubmissionChannel
    var returnsByPost: Bool
}

/// One row of the `dossier` table, as the batch writer reads, changes and writes it back.
struct StoredDossier {
    var state: DossierState
    /// The last history row's sequence (0: no row yet).
    var sequence: Int64
    var lastHash: [UInt8]
    var profile: DossierProfile?
    var submittedAt: Date?
    var clock: SLAClock?
    /// When the current step of a liên thông chain is due (nil for single-step procedures).
    var stepDueAt: Date?
    var resolvedAt: Date?
    var onTimeClass: OnTimeClass?
    var triageReason: String?
    /// The history sequence the table held when the dossier was loaded (0: not in the table yet).
    private(set) var storedSequence: Int64 = 0

    /// Whether events were applied to it since it was loaded: each one appends a history row.
    var isChanged: Bool { sequence > storedSequence }

    init(state: DossierState) {
        self.state = state
        self.sequence = 0
        self.lastHash = AuditChain.genesis
    }

    /// Loads and locks (`FOR UPDATE`) the dossiers of a batch, in code order so concurrent batches cannot deadlock.
    /// The values are optional so that the batch can move one out while it changes it (see `Optional.take()`).
    static func load(
        _ codes: Set<String>, catalogue: ProcedureCatalogue, in session: PostgresSession
    ) throws -> [String: StoredDossier?] {
        var dossiers: [String: StoredDossier?] = [:]
        dossiers.reserveCapacity(codes.count)  // grown from empty, rehashing every code on each doubling
        let rows = try session.query(
            """
            SELECT code, status, version, holder, step, status_changed_at, portal_synced_version, history_sequence,
                   last_hash, procedure, commune, channel, returns_by_post, submitted_at, clock_started_at,
                   clock_changed_at, due_at, original_due_at, paused_at, paused_working_seconds, resolved_at,
                   on_time_class, triage_reason, step_due_at
            FROM dossier WHERE code = ANY(\(Array(codes))) ORDER BY code FOR UPDATE
            """, prepared: true)
        for row in rows {
            let code = try DossierCode(try row.decode(String.self, at: 0))
            guard let status = DossierStatus(rawValue: Int(try row.decode(Int32.self, at: 1))) else { continue }
            let holder = try row.decode(String?.self, at: 3).map { try AgencyID($0) }
            var dossier = StoredDossier(
                state: DossierState.restored(
                    code: code, status: status, version: try row.decode(Int64.self, at: 2), holder: holder,
                    step: Int(try row.decode(Int32.self, at: 4)), statusChangedAt: try row.decode(Date.self, at: 5),
                    portalSyncedVersion: try row.decode(Int64.self, at: 6)))
            dossier.sequence = try row.decode(Int64.self, at: 7)
            dossier.storedSequence = dossier.sequence
            dossier.lastHash = try row.decode(PostgresBytes.self, at: 8).bytes
            if let procedure = try row.decode(String?.self, at: 9), let commune = try row.decode(String?.self, at: 10),
                let channel = try row.decode(String?.self, at: 11).flatMap(SubmissionChannel.init(rawValue:))
            {
                dossier.profile = DossierProfile(
                    procedure: try ProcedureCode(procedure), commune: try CommuneCode(commune), channel: channel,
                    returnsByPost: try row.decode(Bool.self, at: 12))
            }
            dossier.submittedAt = try row.decode(Date?.self, at: 13)
            if let started = try row.decode(Date?.self, at: 14), let profile = dossier.profile,
                let procedure = catalogue.procedure(profile.procedure)
            {
                dossier.clock = SLAClock.restored(
                    startedAt: started, duration: procedure.duration(online: profile.channel == .online),
                    originalDueAt: try row.decode(Date.self, at: 17), dueAt: try row.decode(Date.self, at: 16),
                    pausedAt: try row.decode(Date?.self, at: 18),
                    pausedWorkingSeconds: try row.decode(Int64.self, at: 19),
                    changedAt: try row.decode(Date?.self, at: 15) ?? started)
            }
            dossier.resolvedAt = try row.decode(Date?.self, at: 20)
            dossier.onTimeClass = try row.decode(String?.self, at: 21).flatMap(OnTimeClass.init(rawValue:))
            dossier.triageReason = try row.decode(String?.self, at: 22)
            dossier.stepDueAt = try row.decode(Date?.self, at: 23)
            dossiers[code.rawValue] = dossier
        }
        return dossiers
    }

    /// Upserts the dossiers in one statement. The version guard keeps a late, older write from overwriting a
    /// newer state. The arrays are unnested in the select list, in step: PostgreSQL streams those rows, where
    /// `FROM unnest(a, b, …)` first stores every row in a tuple store and reads each column back out of it (a
    /// third of this statement's time with 24 columns).
    static func save(_ dossiers: [StoredDossier], in session: PostgresSession) throws {
        guard !dossiers.isEmpty else { return }
        let states = dossiers.map(\.state)
        let profiles = dossiers.map(\.profile)
        let clocks = dossiers.map(\.clock)
        try session.query(
            """
            INSERT INTO dossier (code, status, version, holder, step, status_changed_at, portal_synced_version,
                                 history_sequence, last_hash, procedure, commune, channel, returns_by_post,
                                 submitted_at, clock_started_at, clock_changed_at, due_at, original_due_at, paused_at,
                                 paused_working_seconds, resolved_at, on_time_class, triage_reason, step_due_at,
                                 updated_at)
            SELECT c, s, v, h, st, sc, p, hs, lh, pr, cm, ch, COALESCE(rp, false), sa, cs, cc, du, od, pa,
                   COALESCE(pw, 0), ra, ot, tr, sd, now()
            FROM (SELECT unnest(\(states.map(\.code.rawValue))::text[]) AS c,
                         unnest(\(states.map { Int32($0.status.rawValue) })::int2[]) AS s,
                         unnest(\(states.map(\.version))::int8[]) AS v,
                         unnest(\(states.map { $0.holder?.rawValue })::text[]) AS h,
                         unnest(\(states.map { Int32($0.step) })::int4[]) AS st,
                         unnest(\(states.map(\.statusChangedAt))::timestamptz[]) AS sc,
                         unnest(\(states.map(\.portalSyncedVersion))::int8[]) AS p,
                         unnest(\(dossiers.map(\.sequence))::int8[]) AS hs,
                         unnest(\(dossiers.map { PostgresBytes($0.lastHash) })::bytea[]) AS lh,
                         unnest(\(profiles.map { $0?.procedure.rawValue })::text[]) AS pr,
                         unnest(\(profiles.map { $0?.commune.rawValue })::text[]) AS cm,
                         unnest(\(profiles.map { $0?.channel.rawValue })::text[]) AS ch,
                         unnest(\(profiles.map { $0?.returnsByPost })::bool[]) AS rp,
                         unnest(\(dossiers.map(\.submittedAt))::timestamptz[]) AS sa,
                         unnest(\(clocks.map { $0?.startedAt })::timestamptz[]) AS cs,
                         unnest(\(clocks.map { $0?.changedAt })::timestamptz[]) AS cc,
                         unnest(\(clocks.map { $0?.dueAt })::timestamptz[]) AS du,
                         unnest(\(clocks.map { $0?.originalDueAt })::timestamptz[]) AS od,
                         unnest(\(clocks.map { $0?.pausedAt })::timestamptz[]) AS pa,
                         unnest(\(clocks.map { $0?.pausedWorkingSeconds })::int8[]) AS pw,
                         unnest(\(dossiers.map(\.resolvedAt))::timestamptz[]) AS ra,
                         unnest(\(dossiers.map { $0.onTimeClass?.rawValue })::text[]) AS ot,
                         unnest(\(dossiers.map(\.triageReason))::text[]) AS tr,
                         unnest(\(dossiers.map(\.stepDueAt))::timestamptz[]) AS sd) AS t
            ON CONFLICT (code) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
                holder = EXCLUDED.holder, step = EXCLUDED.step, status_changed_at = EXCLUDED.status_changed_at,
                portal_synced_version = EXCLUDED.portal_synced_version, history_sequence = EXCLUDED.history_sequence,
                last_hash = EXCLUDED.last_hash, procedure = EXCLUDED.procedure, commune = EXCLUDED.commune,
                channel = EXCLUDED.channel, returns_by_post = EXCLUDED.returns_by_post,
                submitted_at = EXCLUDED.submitted_at, clock_started_at = EXCLUDED.clock_started_at,
                clock_changed_at = EXCLUDED.clock_changed_at, due_at = EXCLUDED.due_at,
                original_due_at = EXCLUDED.original_due_at, paused_at = EXCLUDED.paused_at,
                paused_working_seconds = EXCLUDED.paused_working_seconds, resolved_at = EXCLUDED.resolved_at,
                on_time_class = EXCLUDED.on_time_class, triage_reason = EXCLUDED.triage_reason,
                step_due_at = EXCLUDED.step_due_at, updated_at = now()
            WHERE dossier.history_sequence < EXCLUDED.history_sequence
            """, prepared: true)
    }
}
