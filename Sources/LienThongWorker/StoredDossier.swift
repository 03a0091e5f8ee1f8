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
        let rows = SavedDossiers(dossiers: dossiers)
        try session.query(
            """
            INSERT INTO dossier (code, status, version, holder, step, status_changed_at, portal_synced_version,
                                 history_sequence, last_hash, procedure, commune, channel, returns_by_post,
                                 submitted_at, clock_started_at, clock_changed_at, due_at, original_due_at, paused_at,
                                 paused_working_seconds, resolved_at, on_time_class, triage_reason, step_due_at,
                                 updated_at)
            SELECT c, s, v, h, st, sc, p, hs, lh, pr, cm, ch, COALESCE(rp, false), sa, cs, cc, du, od, pa,
                   COALESCE(pw, 0), ra, ot, tr, sd, now()
            FROM (SELECT unnest(\(rows.column(.code, of: String.self))::text[]) AS c,
                         unnest(\(rows.column(.status, of: Int32.self))::int2[]) AS s,
                         unnest(\(rows.column(.version, of: Int64.self))::int8[]) AS v,
                         unnest(\(rows.column(.holder, of: String.self))::text[]) AS h,
                         unnest(\(rows.column(.step, of: Int32.self))::int4[]) AS st,
                         unnest(\(rows.column(.statusChangedAt, of: Date.self))::timestamptz[]) AS sc,
                         unnest(\(rows.column(.portalSyncedVersion, of: Int64.self))::int8[]) AS p,
                         unnest(\(rows.column(.historySequence, of: Int64.self))::int8[]) AS hs,
                         unnest(\(rows.column(.lastHash, of: PostgresBytes.self))::bytea[]) AS lh,
                         unnest(\(rows.column(.procedure, of: String.self))::text[]) AS pr,
                         unnest(\(rows.column(.commune, of: String.self))::text[]) AS cm,
                         unnest(\(rows.column(.channel, of: String.self))::text[]) AS ch,
                         unnest(\(rows.column(.returnsByPost, of: Bool.self))::bool[]) AS rp,
                         unnest(\(rows.column(.submittedAt, of: Date.self))::timestamptz[]) AS sa,
                         unnest(\(rows.column(.clockStartedAt, of: Date.self))::timestamptz[]) AS cs,
                         unnest(\(rows.column(.clockChangedAt, of: Date.self))::timestamptz[]) AS cc,
                         unnest(\(rows.column(.dueAt, of: Date.self))::timestamptz[]) AS du,
                         unnest(\(rows.column(.originalDueAt, of: Date.self))::timestamptz[]) AS od,
                         unnest(\(rows.column(.pausedAt, of: Date.self))::timestamptz[]) AS pa,
                         unnest(\(rows.column(.pausedWorkingSeconds, of: Int64.self))::int8[]) AS pw,
                         unnest(\(rows.column(.resolvedAt, of: Date.self))::timestamptz[]) AS ra,
                         unnest(\(rows.column(.onTimeClass, of: String.self))::text[]) AS ot,
                         unnest(\(rows.column(.triageReason, of: String.self))::text[]) AS tr,
                         unnest(\(rows.column(.stepDueAt, of: Date.self))::timestamptz[]) AS sd) AS t
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

/// The dossiers of one save, sent column by column: each field is read and written in place, not gathered into an
/// array per column first (which retained every string and hash).
private struct SavedDossiers: PostgresColumnarRows {
    /// A `dossier` column, written as the Swift type of its field (a status as `int4`, cast to `int2` in SQL).
    enum Column {
        case code, status, version, holder, step, statusChangedAt, portalSyncedVersion, historySequence, lastHash
        case procedure, commune, channel, returnsByPost, submittedAt, clockStartedAt, clockChangedAt, dueAt
        case originalDueAt, pausedAt, pausedWorkingSeconds, resolvedAt, onTimeClass, triageReason, stepDueAt
    }

    let dossiers: [StoredDossier]

    var rowCount: Int { dossiers.count }

    func encodedSize(of column: Column, row: Int) -> Int? {
        let timestamp = Date.distantPast.postgresEncodedSize
        return switch column {
        case .code: dossiers[row].state.code.rawValue.utf8.count
        case .status, .step: Int32.zero.postgresEncodedSize
        case .version, .portalSyncedVersion, .historySequence: Int64.zero.postgresEncodedSize
        case .holder: dossiers[row].state.holder?.rawValue.utf8.count
        case .statusChangedAt: timestamp
        case .lastHash: dossiers[row].lastHash.count
        case .procedure: dossiers[row].profile?.procedure.rawValue.utf8.count
        case .commune: dossiers[row].profile?.commune.rawValue.utf8.count
        case .channel: dossiers[row].profile?.channel.rawValue.utf8.count
        case .returnsByPost: dossiers[row].profile?.returnsByPost.postgresEncodedSize
        case .submittedAt: dossiers[row].submittedAt.map { _ in timestamp }
        case .clockStartedAt, .clockChangedAt, .dueAt, .originalDueAt: dossiers[row].clock.map { _ in timestamp }
        case .pausedAt: dossiers[row].clock?.pausedAt.map { _ in timestamp }
        case .pausedWorkingSeconds: dossiers[row].clock?.pausedWorkingSeconds.postgresEncodedSize
        case .resolvedAt: dossiers[row].resolvedAt.map { _ in timestamp }
        case .onTimeClass: dossiers[row].onTimeClass?.rawValue.utf8.count
        case .triageReason: dossiers[row].triageReason?.utf8.count
        case .stepDueAt: dossiers[row].stepDueAt.map { _ in timestamp }
        }
    }

    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter) {
        switch column {
        case .code: dossiers[row].state.code.rawValue.encode(into: &writer)
        case .status: Int32(dossiers[row].state.status.rawValue).encode(into: &writer)
        case .version: dossiers[row].state.version.encode(into: &writer)
        case .holder: dossiers[row].state.holder?.rawValue.encode(into: &writer)
        case .step: Int32(dossiers[row].state.step).encode(into: &writer)
        case .statusChangedAt: dossiers[row].state.statusChangedAt.encode(into: &writer)
        case .portalSyncedVersion: dossiers[row].state.portalSyncedVersion.encode(into: &writer)
        case .historySequence: dossiers[row].sequence.encode(into: &writer)
        case .lastHash: writer.write(contentsOf: dossiers[row].lastHash)  // a bytea's binary form: the bytes
        case .procedure: dossiers[row].profile?.procedure.rawValue.encode(into: &writer)
        case .commune: dossiers[row].profile?.commune.rawValue.encode(into: &writer)
        case .channel: dossiers[row].profile?.channel.rawValue.encode(into: &writer)
        case .returnsByPost: dossiers[row].profile?.returnsByPost.encode(into: &writer)
        case .submittedAt: dossiers[row].submittedAt?.encode(into: &writer)
        case .clockStartedAt: dossiers[row].clock?.startedAt.encode(into: &writer)
        case .clockChangedAt: dossiers[row].clock?.changedAt.encode(into: &writer)
        case .dueAt: dossiers[row].clock?.dueAt.encode(into: &writer)
        case .originalDueAt: dossiers[row].clock?.originalDueAt.encode(into: &writer)
        case .pausedAt: dossiers[row].clock?.pausedAt?.encode(into: &writer)
        case .pausedWorkingSeconds: dossiers[row].clock?.pausedWorkingSeconds.encode(into: &writer)
        case .resolvedAt: dossiers[row].resolvedAt?.encode(into: &writer)
        case .onTimeClass: dossiers[row].onTimeClass?.rawValue.encode(into: &writer)
        case .triageReason: dossiers[row].triageReason?.encode(into: &writer)
        case .stepDueAt: dossiers[row].stepDueAt?.encode(into: &writer)
        }
    }
}
