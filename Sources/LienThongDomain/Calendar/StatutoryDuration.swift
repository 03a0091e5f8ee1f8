public import struct Foundation.Date

/// A statutory processing time with its unit.
public enum StatutoryDuration: Sendable, Hashable {
    /// Working days of eight working hours (the default unit).
    case workingDays(Int)
    /// Working hours.
    case workingHours(Int)
    /// Calendar days; a period ending on a day off ends at the close of the next working day (Civil Code 2015,
    /// art. 148).
    case calendarDays(Int)

    /// The due instant for a dossier whose clock starts at `start`.
    public func due(from start: Date, calendar: WorkingCalendar) -> Date {
        switch self {
        case .workingDays(let days):
            calendar.adding(workingSeconds: Int64(days) * calendar.officeHours.secondsPerDay, to: start)
        case .workingHours(let hours):
            calendar.adding(workingSeconds: Int64(hours) * 3600, to: start)
        case .calendarDays(let days):
            Self.calendarDue(days: days, from: start, calendar: calendar)
        }
    }

    private static func calendarDue(days: Int, from start: Date, calendar: WorkingCalendar) -> Date {
        let due = start.addingTimeInterval(Double(days) * 86_400)
        let dueDate = calendar.localDate(of: due)
        return calendar.isWorkingDay(dueDate) ? due : calendar.endOfWorkingDay(onOrAfter: dueDate)
    }
}
