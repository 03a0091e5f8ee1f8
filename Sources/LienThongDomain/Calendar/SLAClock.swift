public import struct Foundation.Date

/// How a paused clock resumes after a supplement. **Configurable** per province.
public enum SLAResumePolicy: String, Sendable, Hashable, CaseIterable {
    /// Count the whole statutory duration again from the resumption ("per decree", the common default).
    case restartFullDuration = "restart"
    /// Push the due date back by the working time spent paused.
    case extendByPausedTime = "extend"
}

/// How a resolved dossier compares with its due date, by date (not time).
public enum OnTimeClass: String, Sendable, Hashable, CaseIterable {
    case early
    case onTime = "on_time"
    case late
}

/// What monitoring is warned about.
public enum SLAWarning: String, Sendable, Hashable, CaseIterable {
    /// Less than one working day of working time is left.
    case dueWithinOneWorkingDay = "due_within_one_working_day"
    /// The due date has passed and the dossier is not resolved.
    case overdue
    /// Submitted online and not received within eight working hours.
    case onlineNotReceived = "online_not_received"
    /// The current processing step is past its step deadline.
    case stepOverdue = "step_overdue"
}

/// A dossier's deadline clock: started at receipt, paused while a supplement is awaited, resumed under the
/// province's policy. A value type; every change returns through a mutating method and needs no I/O.
public struct SLAClock: Sendable, Hashable {
    /// Why a clock operation was refused.
    public enum Rejection: String, Error, Sendable {
        case alreadyPaused = "already_paused"
        case notPaused = "not_paused"
        case beforeLastChange = "before_last_change"
    }

    /// When the clock started (the receipt; outside office hours it counts from the next working period).
    public let startedAt: Date
    /// The statutory duration.
    public let duration: StatutoryDuration
    /// The due date at receipt, kept for reporting after a reset.
    public let originalDueAt: Date
    /// The current due date.
    public private(set) var dueAt: Date
    /// Set while paused.
    public private(set) var pausedAt: Date?
    /// Working seconds spent paused, all pauses together.
    public private(set) var pausedWorkingSeconds: Int64 = 0
    private var lastChange: Date

    /// Starts a clock at receipt.
    public init(startedAt: Date, duration: StatutoryDuration, calendar: WorkingCalendar) {
        self.startedAt = startedAt
        self.duration = duration
        let due = duration.due(from: startedAt, calendar: calendar)
        originalDueAt = due
        dueAt = due
        lastChange = startedAt
    }

    /// Restores a clock persisted earlier (the store's columns), for applying the next changes to it.
    public static func restored(
        startedAt: Date, duration: StatutoryDuration, originalDueAt: Date, dueAt: Date, pausedAt: Date?,
        pausedWorkingSeconds: Int64, changedAt: Date
    ) -> SLAClock {
        SLAClock(
            startedAt: startedAt, duration: duration, originalDueAt: originalDueAt, dueAt: dueAt, pausedAt: pausedAt,
            pausedWorkingSeconds: pausedWorkingSeconds, lastChange: changedAt)
    }

    private init(
        startedAt: Date, duration: StatutoryDuration, originalDueAt: Date, dueAt: Date, pausedAt: Date?,
        pausedWorkingSeconds: Int64, lastChange: Date
    ) {
        self.startedAt = startedAt
        self.duration = duration
        self.originalDueAt = originalDueAt
        self.dueAt = dueAt
        self.pausedAt = pausedAt
        self.pausedWorkingSeconds = pausedWorkingSeconds
        self.lastChange = lastChange
    }

    /// When the clock last changed (start, pause, resume or reset), for persisting it.
    public var changedAt: Date { lastChange }

    /// Whether the clock is paused.
    public var isPaused: Bool { pausedAt != nil }

    /// Pauses for a supplement request.
    public mutating func pause(at instant: Date) throws(Rejection) {
        guard pausedAt == nil else { throw .alreadyPaused }
        guard instant >= lastChange else { throw .beforeLastChange }
        pausedAt = instant
        lastChange = instant
    }

    /// Resumes when the supplement arrives.
    public mutating func resume(at instant: Date, policy: SLAResumePolicy, calendar: WorkingCalendar) throws(Rejection)
    {
        guard let pausedAt else { throw .notPaused }
        guard instant >= pausedAt else { throw .beforeLastChange }
        let paused = calendar.workingSeconds(from: pausedAt, to: instant)
        pausedWorkingSeconds += paused
        switch policy {
        case .restartFullDuration:
            dueAt = max(dueAt, duration.due(from: instant, calendar: calendar))
        case .extendByPausedTime:
            dueAt = calendar.adding(workingSeconds: paused, to: dueAt)
        }
        self.pausedAt = nil
        lastChange = instant
    }

    /// Sets a new due date (the apology-and-new-appointment form); ``originalDueAt`` is kept.
    public mutating func resetDue(to newDue: Date, at instant: Date) throws(Rejection) {
        guard instant >= lastChange else { throw .beforeLastChange }
        dueAt = newDue
        lastChange = instant
    }

    /// The on-time class of a dossier resolved at `resolvedAt`, comparing local dates.
    public func onTimeClass(resolvedAt: Date, calendar: WorkingCalendar) -> OnTimeClass {
        let resolved = calendar.localDate(of: resolvedAt)
        let due = calendar.localDate(of: dueAt)
        return resolved < due ? .early : resolved == due ? .onTime : .late
    }

    /// Whether an unresolved dossier is overdue at `now` (never while paused).
    public func isOverdue(at now: Date) -> Bool {
        !isPaused && now > dueAt
    }

    /// The deadline warnings that hold at `now` for an unresolved dossier.
    public func warnings(at now: Date, calendar: WorkingCalendar) -> Set<SLAWarning> {
        isPaused ? [] : Self.warnings(dueAt: dueAt, at: now, calendar: calendar)
    }

    /// The deadline warnings that hold at `now` for a running (not paused) clock due at `dueAt`.
    public static func warnings(dueAt: Date, at now: Date, calendar: WorkingCalendar) -> Set<SLAWarning> {
        if now > dueAt { return [.overdue] }
        return calendar.workingSeconds(from: now, to: dueAt) <= calendar.officeHours.secondsPerDay
            ? [.dueWithinOneWorkingDay] : []
    }

    /// Whether a processing step that started at `stepStartedAt` is past its step deadline at `now`.
    public static func isStepOverdue(
        stepStartedAt: Date, stepDuration: StatutoryDuration, now: Date, calendar: WorkingCalendar
    ) -> Bool {
        now > stepDuration.due(from: stepStartedAt, calendar: calendar)
    }

    /// Whether an online submission is still not received eight working hours after `submittedAt`.
    public static func isOnlineReceiptLate(submittedAt: Date, now: Date, calendar: WorkingCalendar) -> Bool {
        calendar.workingSeconds(from: submittedAt, to: now) > 8 * 3600
    }
}
