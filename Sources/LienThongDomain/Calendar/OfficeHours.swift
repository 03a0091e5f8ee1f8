/// The working periods of a day and the zone they are read in. **Configurable** per province.
public struct OfficeHours: Sendable, Hashable {
    /// One working period, in minutes after local midnight.
    public struct Period: Sendable, Hashable {
        public let startMinute: Int
        public let endMinute: Int

        /// A period; nil unless `0 <= start < end <= 1440`.
        public init?(startMinute: Int, endMinute: Int) {
            guard startMinute >= 0, startMinute < endMinute, endMinute <= 1440 else { return nil }
            self.startMinute = startMinute
            self.endMinute = endMinute
        }
    }

    /// The periods in order, not overlapping.
    public let periods: [Period]
    /// Seconds east of UTC. Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving since 1975).
    public let utcOffsetSeconds: Int

    /// Office hours; nil if the periods overlap or are out of order.
    public init?(periods: [Period], utcOffsetSeconds: Int = 7 * 3600) {
        guard !periods.isEmpty, zip(periods, periods.dropFirst()).allSatisfy({ $0.endMinute <= $1.startMinute }) else {
            return nil
        }
        self.periods = periods
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// 07:00–11:30 and 13:30–17:00, UTC+7: eight working hours a day.
    public static let standard = OfficeHours(
        periods: [Period(startMinute: 420, endMinute: 690)!, Period(startMinute: 810, endMinute: 1020)!])!

    /// Working seconds in one working day.
    public var secondsPerDay: Int64 {
        Int64(periods.reduce(0) { $0 + $1.endMinute - $1.startMinute }) * 60
    }
}
