public import struct Foundation.Date

/// The current state of one dossier.
public struct DossierState: Sendable, Hashable {
    /// The dossier.
    public let code: DossierCode
    /// The current status.
    public internal(set) var status: DossierStatus
    /// The version of the last applied versioned event.
    public internal(set) var version: Int64
    /// The unit holding the dossier, when known.
    public internal(set) var holder: AgencyID?
    /// The current step of its processing chain.
    public internal(set) var step: Int
    /// When the status last changed.
    public internal(set) var statusChangedAt: Date
    /// The highest version the national portal acknowledged (0: none).
    public internal(set) var portalSyncedVersion: Int64

    /// Whether the portal has seen the latest version ("not yet synced" after every change until acknowledged).
    public var isPortalSynced: Bool { portalSyncedVersion >= version }

    /// Restores a state persisted earlier (the store's row), for applying the next events to it.
    public static func restored(
        code: DossierCode, status: DossierStatus, version: Int64, holder: AgencyID?, step: Int, statusChangedAt: Date,
        portalSyncedVersion: Int64
    ) -> DossierState {
        var state = DossierState(code: code, status: status, version: version, at: statusChangedAt)
        state.holder = holder
        state.step = step
        state.portalSyncedVersion = portalSyncedVersion
        return state
    }

    /// The same state with the holder the router chose (nil once the dossier is closed).
    public func routed(to holder: AgencyID?) -> DossierState {
        var next = self
        next.holder = holder
        return next
    }

    init(code: DossierCode, status: DossierStatus, version: Int64, at: Date) {
        self.code = code
        self.status = status
        self.version = version
        self.step = 0
        self.statusChangedAt = at
        self.portalSyncedVersion = 0
    }
}
