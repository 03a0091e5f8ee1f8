/// The national portal's dossier status codes (TrangThaiHoSo).
public enum DossierStatus: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case submittedOnline = 1
    case received = 2
    case refusedAtReception = 3
    case processing = 4
    case supplementRequested = 5
    case awaitingFees = 6
    case withdrawn = 7
    case processingStopped = 8
    case resolved = 9
    case resultReturned = 10

    /// No transition leaves a terminal status.
    public var isTerminal: Bool {
        switch self {
        case .refusedAtReception, .withdrawn, .processingStopped, .resultReturned: true
        default: false
        }
    }

    /// A stable name for monitoring and logs.
    public var name: String {
        switch self {
        case .submittedOnline: "submitted_online"
        case .received: "received"
        case .refusedAtReception: "refused_at_reception"
        case .processing: "processing"
        case .supplementRequested: "supplement_requested"
        case .awaitingFees: "awaiting_fees"
        case .withdrawn: "withdrawn"
        case .processingStopped: "processing_stopped"
        case .resolved: "resolved"
        case .resultReturned: "result_returned"
        }
    }

    public var description: String { "\(rawValue) (\(name))" }
}

/// A status change, from nothing (a new dossier) or from a status.
public struct StatusTransition: Sendable, Hashable, CustomStringConvertible {
    /// The status before; nil for the first event of a dossier.
    public let from: DossierStatus?
    /// The status after.
    public let to: DossierStatus

    public init(from: DossierStatus?, to: DossierStatus) {
        self.from = from
        self.to = to
    }

    /// Exactly the transitions of the portal's rules; 9 → 4 needs an audited recall on top.
    public static let allowed: Set<StatusTransition> = {
        let pairs: [(DossierStatus?, DossierStatus)] = [
            (nil, .submittedOnline), (nil, .received),
            (.submittedOnline, .received), (.submittedOnline, .refusedAtReception), (.submittedOnline, .withdrawn),
            (.received, .processing), (.received, .supplementRequested), (.received, .withdrawn),
            (.processing, .supplementRequested), (.processing, .awaitingFees), (.processing, .processingStopped),
            (.processing, .resolved), (.processing, .withdrawn),
            (.supplementRequested, .processing), (.supplementRequested, .processingStopped),
            (.supplementRequested, .withdrawn),
            (.awaitingFees, .processing), (.awaitingFees, .resolved), (.awaitingFees, .withdrawn),
            (.resolved, .resultReturned), (.resolved, .processing),
        ]
        return Set(pairs.map { StatusTransition(from: $0.0, to: $0.1) })
    }()

    /// The recall of a resolved dossier back to processing, allowed only with an audit reason.
    public static let recall = StatusTransition(from: .resolved, to: .processing)

    /// Whether the rules allow this transition (a recall additionally needs its reason).
    public var isAllowed: Bool { Self.allowed.contains(self) }

    public var description: String { "\(from.map { String($0.rawValue) } ?? "∅")→\(to.rawValue)" }
}
