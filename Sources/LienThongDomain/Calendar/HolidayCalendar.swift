/// Days off and swapped working days, loaded as data one year at a time.
///
/// Weekends (Saturday and Sunday) are days off unless listed as working days (a Saturday worked in exchange for
/// a bridge day); listed day-off dates are off whatever their weekday.
public struct HolidayCalendar: Sendable, Hashable {
    /// Statutory days off and substituted days off.
    public private(set) var daysOff: Set<CivilDate>
    /// Saturdays (or Sundays) worked in exchange for a day off.
    public private(set) var workingDays: Set<CivilDate>

    /// A calendar from explicit sets.
    public init(daysOff: Set<CivilDate> = [], workingDays: Set<CivilDate> = []) {
        self.daysOff = daysOff
        self.workingDays = workingDays
    }

    /// A malformed line of calendar data.
    public struct DataError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The 1-based line number.
        public let line: Int
        /// What is wrong.
        public let reason: String

        /// Creates an error for `line`.
        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }

        public var description: String { "calendar data line \(line): \(reason)" }
    }

    /// Parses the `date,kind,name` CSV of `shared/data/calendar/` (kind `day_off` or `working_day`).
    /// - Throws: ``DataError`` naming the line of a bad date or kind, or a date listed as both.
    public init(csv: String) throws(DataError) {
        var daysOff: Set<CivilDate> = []
        var workingDays: Set<CivilDate> = []
        for (index, line) in csv.split(whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let fields = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            if number == 1 && fields.first == "date" { continue }
            guard fields.count >= 2 else { throw DataError(line: number, reason: "expected date,kind,name") }
            guard let date = CivilDate(iso: fields[0]) else { throw DataError(line: number, reason: "invalid date") }
            switch fields[1] {
            case "day_off": daysOff.insert(date)
            case "working_day": workingDays.insert(date)
            default: throw DataError(line: number, reason: "kind must be day_off or working_day")
            }
            if daysOff.contains(date) && workingDays.contains(date) {
                throw DataError(line: number, reason: "\(date) is both a day off and a working day")
            }
        }
        self.init(daysOff: daysOff, workingDays: workingDays)
    }

    /// This calendar with another year's data added (operators publish each year's schedule separately).
    public func merging(_ other: HolidayCalendar) -> HolidayCalendar {
        HolidayCalendar(daysOff: daysOff.union(other.daysOff), workingDays: workingDays.union(other.workingDays))
    }

    /// Whether civil servants work on `date`.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        if workingDays.contains(date) { return true }
        if daysOff.contains(date) { return false }
        return date.weekday <= 5
    }
}
