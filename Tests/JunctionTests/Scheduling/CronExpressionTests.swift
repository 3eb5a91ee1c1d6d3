import Foundation
import JunctionCore
import JunctionStores
import Testing

@Suite("Cron expressions")
struct CronExpressionTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let paris = TimeZone(identifier: "Europe/Paris")!

    static func date(_ text: String) -> Date { Timestamp.parse(text)! }

    @Test(arguments: [
        ("*/15 * * * *", "2026-11-21T17:01:43Z", "2026-11-21T17:15:00Z"),
        ("0 9 * * MON-FRI", "2026-11-21T17:01:43Z", "2026-11-23T09:00:00Z"),  // Saturday → Monday
        ("30 2 1 * *", "2026-11-21T17:01:43Z", "2026-12-01T02:30:00Z"),
        ("0 0 1 JAN *", "2026-11-21T17:01:43Z", "2027-01-01T00:00:00Z"),
        ("5,10 17 * * *", "2026-11-21T17:05:00Z", "2026-11-21T17:10:00Z"),  // strictly after
        ("0 12 13 * FRI", "2026-11-21T17:01:43Z", "2026-11-27T12:00:00Z"),  // either day field matches
        ("0 0 29 2 *", "2026-11-21T17:01:43Z", "2028-02-29T00:00:00Z"),
        ("@hourly", "2026-11-21T17:01:43Z", "2026-11-21T18:00:00Z"),
        ("0 0 * * 7", "2026-11-21T17:01:43Z", "2026-11-22T00:00:00Z"),  // 7 is Sunday
    ])
    func nextFireInUTC(expression: String, after: String, expected: String) throws {
        #expect(try CronExpression(expression).nextFire(after: Self.date(after), in: Self.utc) == Self.date(expected))
    }

    @Test func namedTimeZoneFiresAtLocalTime() throws {
        // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
        let cron = try CronExpression("0 9 * * *")
        #expect(cron.nextFire(after: Self.date("2026-11-21T12:00:00Z"), in: Self.paris) == Self.date("2026-11-22T08:00:00Z"))
        #expect(cron.nextFire(after: Self.date("2026-06-01T12:00:00Z"), in: Self.paris) == Self.date("2026-06-02T07:00:00Z"))
    }

    @Test func skippedLocalTimeDoesNotFireAndRepeatedOneFiresOnce() throws {
        // Paris springs forward on 2026-03-29 at 02:00 (no 02:30 that day) and falls back on
        // 2026-10-25 at 03:00 (02:30 happens twice).
        let cron = try CronExpression("30 2 * * *")
        let spring = cron.nextFires(after: Self.date("2026-03-28T12:00:00Z"), in: Self.paris, count: 2)
        #expect(spring == [Self.date("2026-03-30T00:30:00Z"), Self.date("2026-03-31T00:30:00Z")])
        let autumn = cron.nextFires(after: Self.date("2026-10-24T12:00:00Z"), in: Self.paris, count: 2)
        #expect(autumn == [Self.date("2026-10-25T00:30:00Z"), Self.date("2026-10-26T01:30:00Z")])
    }

    @Test func nextFiveFireTimesAreConsecutive() throws {
        let fires = try CronExpression("0 */6 * * *").nextFires(after: Self.date("2026-11-21T17:01:43Z"), in: Self.utc, count: 5)
        #expect(fires == ["2026-11-21T18:00:00Z", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z", "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z"].map(Self.date))
    }

    @Test func impossibleDateHasNoFire() throws {
        #expect(try CronExpression("0 0 30 2 *").nextFire(after: Self.date("2026-11-21T17:01:43Z"), in: Self.utc) == nil)
    }

    @Test(arguments: [
        ("* * * *", "5 fields"), ("60 * * * *", "minute 60 is outside 0-59"), ("* 24 * * *", "hour 24 is outside 0-23"),
        ("* * 0 * *", "day-of-month 0 is outside 1-31"), ("* * * FOO *", "\"FOO\" is not a number or a name"),
        ("*/0 * * * *", "step \"0\" must be a positive number"), ("5-1 * * * *", "runs backwards"), ("1,,2 * * * *", "empty list element"),
    ])
    func malformedExpressionsSayWhatIsWrong(expression: String, reason: String) {
        #expect {
            _ = try CronExpression(expression)
        } throws: { error in
            (error as? InvalidValue)?.reason.contains(reason) == true
        }
    }
}
