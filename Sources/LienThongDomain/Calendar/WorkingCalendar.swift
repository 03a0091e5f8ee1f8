public import struct Foundation.Date

/// Working-time arithmetic over a holiday calendar and office hours. Pure: instants come in as parameters.
public struct WorkingCalendar: Sendable, Hashable {
    /// Days off and swapped working days.
    public let holidays: HolidayCalendar
    /// Working periods and zone.
    public let officeHours: OfficeHours

    /// A calendar.
    public init(holidays: HolidayCalendar, officeHours: OfficeHours = .standard) {
        self.holidays = holidays
        self.officeHours = officeHours
    }

    /// Whether `date` is a working day.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        holidays.isWorkingDay(date)
    }

    /// The local date of an instant.
    public func localDate(of instant: Date) -> CivilDate {
        CivilDate(daysSinceEpoch: Self.floorDivide(Self.seconds(instant) + Int64(officeHours.utcOffsetSeconds), 86_400))
    }

    /// The instant `seconds` of working time after `start`; time outside office hours does not count, so a
    /// start outside them begins at the next working period.
    public func adding(workingSeconds seconds: Int64, to start: Date) -> Date {
        var instant = Self.seconds(start)
        var remaining = max(0, seconds)
        var date = localDate(of: start)
        // Bounded: no calendar has years without working days.
        for _ in 0..<(366 * 20) {
            if isWorkingDay(date) {
                for (periodStart, periodEnd) in periods(on: date) where instant < periodEnd {
                    let from = max(instant, periodStart)
                    if remaining <= periodEnd - from { return Date(timeIntervalSince1970: Double(from + remaining)) }
                    remaining -= periodEnd - from
                    instant = periodEnd
                }
            }
            date = date.adding(days: 1)
            instant = max(instant, dayStart(date))
        }
        return Date.distantFuture
    }

    /// Working seconds between two instants (0 if `end` is not after `start`).
    public func workingSeconds(from start: Date, to end: Date) -> Int64 {
        let (from, to) = (Self.seconds(start), Self.seconds(end))
        guard to > from else { return 0 }
        var total: Int64 = 0
        var date = localDate(of: start)
        let last = localDate(of: end)
        while date <= last {
            if isWorkingDay(date) {
                for (periodStart, periodEnd) in periods(on: date) {
                    total += max(0, min(to, periodEnd) - max(from, periodStart))
                }
            }
            date = date.adding(days: 1)
        }
        return total
    }

    /// The end of the last working period of the first working day on or after `date`.
    public func endOfWorkingDay(onOrAfter date: CivilDate) -> Date {
        var day = date
        while !isWorkingDay(day) { day = day.adding(days: 1) }
        let end = periods(on: day).last!.1
        return Date(timeIntervalSince1970: Double(end))
    }

    /// The UTC seconds at which `date` starts locally.
    func dayStart(_ date: CivilDate) -> Int64 {
        Int64(date.daysSinceEpoch) * 86_400 - Int64(officeHours.utcOffsetSeconds)
    }

    /// The working periods of `date` as UTC seconds, computed as they are read (an array per day walked was an
    /// allocation per event for the deadline clock).
    private func periods(on date: CivilDate) -> some BidirectionalCollection<(Int64, Int64)> {
        let start = dayStart(date)
        return officeHours.periods.lazy.map { (start + Int64($0.startMinute) * 60, start + Int64($0.endMinute) * 60) }
    }

    static func seconds(_ instant: Date) -> Int64 {
        Int64(instant.timeIntervalSince1970.rounded(.down))
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int {
        Int(value >= 0 ? value / divisor : (value - divisor + 1) / divisor)
    }
}
