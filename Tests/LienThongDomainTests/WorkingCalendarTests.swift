import Foundation
import LienThongDomain
import PropertyBased
import Testing

/// The calendar data shipped in the repository.
private let holidays = try! HolidayCalendar(csv: referenceData("calendar/vn-public-holidays-2025-2027.csv"))

private let calendar = WorkingCalendar(holidays: holidays)

/// An instant given in Vietnam's local time (UTC+7).
private func local(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
    let date = CivilDate(year: year, month: month, day: day)!
    return Date(timeIntervalSince1970: Double(date.daysSinceEpoch * 86_400 + (hour - 7) * 3600 + minute * 60))
}

@Suite("Working calendar and SLA clock")
struct WorkingCalendarTests {
    @Test func civilDatesRoundTripAndKnowTheirWeekday() {
        #expect(CivilDate(year: 1970, month: 1, day: 1)!.daysSinceEpoch == 0)
        #expect(CivilDate(daysSinceEpoch: 20_635) == CivilDate(year: 2026, month: 7, day: 1))
        #expect(CivilDate(year: 2026, month: 8, day: 22)!.weekday == 6, "a Saturday")
        #expect(CivilDate(year: 2026, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 2028, month: 2, day: 29) != nil)
        for days in stride(from: -1000, through: 30_000, by: 37) {
            #expect(CivilDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
    }

    @Test func theShippedDataKnowsTetAndTheSwappedSaturday() {
        for day in 14...22 {
            #expect(!calendar.isWorkingDay(CivilDate(year: 2026, month: 2, day: day)!), "Tết 2026, Feb \(day)")
        }
        #expect(calendar.isWorkingDay(CivilDate(year: 2026, month: 2, day: 23)!))
        #expect(calendar.isWorkingDay(CivilDate(year: 2026, month: 8, day: 22)!), "Saturday worked in exchange")
        #expect(!calendar.isWorkingDay(CivilDate(year: 2026, month: 8, day: 31)!), "the Monday it bought")
        #expect(!calendar.isWorkingDay(CivilDate(year: 2026, month: 8, day: 29)!), "an ordinary Saturday")
    }

    @Test func aDossierReceivedBeforeTetIsDueAfterIt() {
        // Friday 13 Feb 2026 16:00: one working hour that day, then nothing until Monday 23 Feb.
        let due = StatutoryDuration.workingDays(1).due(from: local(2026, 2, 13, 16), calendar: calendar)
        #expect(due == local(2026, 2, 23, 16))
    }

    @Test func receiptAfterHoursStartsAtTheNextWorkingPeriod() {
        #expect(
            StatutoryDuration.workingHours(4).due(from: local(2026, 3, 2, 18), calendar: calendar)
                == local(2026, 3, 3, 11))
        // Friday evening before the swapped Saturday: counting starts Saturday 07:00.
        #expect(
            StatutoryDuration.workingDays(1).due(from: local(2026, 8, 21, 17, 30), calendar: calendar)
                == local(2026, 8, 22, 17))
    }

    @Test func theLunchBreakDoesNotCount() {
        #expect(
            StatutoryDuration.workingHours(1).due(from: local(2026, 3, 2, 11), calendar: calendar)
                == local(2026, 3, 2, 14))
        #expect(calendar.workingSeconds(from: local(2026, 3, 2, 11), to: local(2026, 3, 2, 14)) == 3600)
        #expect(calendar.workingSeconds(from: local(2026, 3, 2, 0), to: local(2026, 3, 3, 0)) == 8 * 3600)
    }

    @Test func calendarDaysEndingOnADayOffEndWithTheNextWorkingDay() {
        // Received Wednesday 26 Aug 2026 10:00, 5 calendar days → Monday 31 Aug, a swapped day off, then
        // National Day 1–2 Sep: the period ends at the close of Thursday 3 Sep.
        let due = StatutoryDuration.calendarDays(5).due(from: local(2026, 8, 26, 10), calendar: calendar)
        #expect(due == local(2026, 9, 3, 17))
        #expect(
            StatutoryDuration.calendarDays(1).due(from: local(2026, 3, 2, 10), calendar: calendar)
                == local(2026, 3, 3, 10))
    }

    @Test func restartPolicyCountsTheWholeDurationAgain() throws {
        var clock = SLAClock(startedAt: local(2026, 3, 2, 7), duration: .workingDays(3), calendar: calendar)
        #expect(clock.dueAt == local(2026, 3, 4, 17))
        try clock.pause(at: local(2026, 3, 3, 7))
        #expect(clock.isPaused && !clock.isOverdue(at: local(2026, 3, 20, 7)))
        try clock.resume(at: local(2026, 3, 9, 7), policy: .restartFullDuration, calendar: calendar)
        #expect(clock.dueAt == local(2026, 3, 11, 17))
        #expect(clock.originalDueAt == local(2026, 3, 4, 17))
        #expect(clock.pausedWorkingSeconds == 4 * 8 * 3600)
    }

    @Test func extendPolicyAddsThePausedWorkingTime() throws {
        var clock = SLAClock(startedAt: local(2026, 3, 2, 7), duration: .workingDays(3), calendar: calendar)
        try clock.pause(at: local(2026, 3, 3, 7))
        try clock.resume(at: local(2026, 3, 5, 7), policy: .extendByPausedTime, calendar: calendar)  // 2 working days
        #expect(clock.dueAt == local(2026, 3, 6, 17))
        #expect(throws: SLAClock.Rejection.notPaused) {
            try clock.resume(at: local(2026, 3, 6, 7), policy: .extendByPausedTime, calendar: calendar)
        }
    }

    @Test func onTimeClassComparesDatesAndWarningsFollowTheDueDate() throws {
        var clock = SLAClock(startedAt: local(2026, 3, 2, 7), duration: .workingDays(2), calendar: calendar)
        #expect(clock.dueAt == local(2026, 3, 3, 17))
        #expect(clock.onTimeClass(resolvedAt: local(2026, 3, 2, 16), calendar: calendar) == .early)
        #expect(clock.onTimeClass(resolvedAt: local(2026, 3, 3, 16, 59), calendar: calendar) == .onTime)
        #expect(
            clock.onTimeClass(resolvedAt: local(2026, 3, 3, 23), calendar: calendar) == .onTime,
            "same date, after hours")
        #expect(clock.onTimeClass(resolvedAt: local(2026, 3, 4, 8), calendar: calendar) == .late)
        #expect(clock.warnings(at: local(2026, 3, 2, 8), calendar: calendar).isEmpty)
        #expect(clock.warnings(at: local(2026, 3, 3, 7), calendar: calendar) == [.dueWithinOneWorkingDay])
        #expect(clock.warnings(at: local(2026, 3, 4, 7), calendar: calendar) == [.overdue])
        try clock.resetDue(to: local(2026, 3, 10, 17), at: local(2026, 3, 3, 9))
        #expect(clock.warnings(at: local(2026, 3, 4, 7), calendar: calendar).isEmpty)
        #expect(clock.originalDueAt == local(2026, 3, 3, 17))
    }

    @Test func onlineDossiersNotReceivedWithinEightWorkingHoursAreFlagged() {
        let submitted = local(2026, 3, 6, 16)  // Friday 16:00
        #expect(!SLAClock.isOnlineReceiptLate(submittedAt: submitted, now: local(2026, 3, 9, 14), calendar: calendar))
        #expect(SLAClock.isOnlineReceiptLate(submittedAt: submitted, now: local(2026, 3, 9, 16, 1), calendar: calendar))
    }

    @Test func aStepPastItsShareOfTheTimeIsFlagged() {
        let started = local(2026, 3, 2, 7)  // Monday
        #expect(
            !SLAClock.isStepOverdue(
                stepStartedAt: started, stepDuration: .workingDays(2), now: local(2026, 3, 3, 16), calendar: calendar))
        #expect(
            SLAClock.isStepOverdue(
                stepStartedAt: started, stepDuration: .workingDays(2), now: local(2026, 3, 3, 17, 1), calendar: calendar
            ))
    }

    @Test func calendarDataErrorsNameTheLine() {
        #expect(throws: HolidayCalendar.DataError(line: 2, reason: "invalid date")) {
            try HolidayCalendar(csv: "date,kind,name\n2026-02-30,day_off,x\n")
        }
        #expect(throws: HolidayCalendar.DataError(line: 2, reason: "kind must be day_off or working_day")) {
            try HolidayCalendar(csv: "date,kind,name\n2026-02-03,holiday,x\n")
        }
        let nextYear = try? HolidayCalendar(csv: "2028-01-01,day_off,New Year's Day\n")
        #expect(holidays.merging(nextYear!).isWorkingDay(CivilDate(year: 2028, month: 1, day: 1)!) == false)
    }

    @Test func aDueDateIsNeverBeforeReceiptNorEarlierAfterAPause() async {
        let instants = Gen.int(in: 0...(3 * 365 * 86_400)).map {
            Date(timeIntervalSince1970: 1_735_689_600 + Double($0))
        }
        let durations = Gen.int(in: 1...30).map { StatutoryDuration.workingDays($0) }
        let pauses = Gen.int(in: 0...(20 * 86_400))
        await propertyCheck(count: 200, input: instants, durations, pauses) { received, duration, pauseLength in
            for policy in SLAResumePolicy.allCases {
                var clock = SLAClock(startedAt: received, duration: duration, calendar: calendar)
                #expect(clock.dueAt >= received)
                let before = clock.dueAt
                let pausedAt = received.addingTimeInterval(3600)
                try? clock.pause(at: pausedAt)
                try? clock.resume(
                    at: pausedAt.addingTimeInterval(Double(pauseLength)), policy: policy, calendar: calendar)
                #expect(clock.dueAt >= before)
            }
        }
    }
}
