import Foundation
import JunctionCore
import JunctionQueue
import Testing

@Suite("JSON text")
struct JSONTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(parsing: #" { "a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}, "e": "" } "#)
        #expect(value == ["a": [1, -2, 3.5, 1000.0, true, false, nil], "b": ["c": "d"], "e": ""])
    }

    @Test func integersBeyondDoublePrecisionStayExact() throws {
        #expect(try JSONValue(parsing: "[9223372036854775807, -9223372036854775808, 7283839283928392111]")
            == [.integer(.max), .integer(.min), .integer(7_283_839_283_928_392_111)])
        #expect(try JSONValue(parsing: "18446744073709551616") == .number(18_446_744_073_709_551_616))
    }

    @Test func stringEscapesAndSurrogatePairsDecode() throws {
        #expect(try JSONValue(parsing: #""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude80 Zoë""#) == .string("q\" b\\ s/ \u{8}\u{c}\n\r\t é 🚀 Zoë"))
    }

    /// The record store's writer leaves keys in dictionary order; what it writes still reads back
    /// as the same value, and the sorted form is the one `serialized` gives.
    @Test func bytesWrittenWithOrWithoutSortedKeysReadBackTheSame() throws {
        let value: JSONValue = ["zoë": ["a\"b\\c\n": [1, -2.5, true, .null, "\u{1F600}"]], "id": "cus_1", "n": 9_007_199_254_740_993, "empty": [:], "list": []]
        for sorted in [true, false] {
            var bytes = JSONBytes(capacity: 0)
            value.write(to: &bytes, sortedKeys: sorted)
            #expect(try JSONValue(parsing: bytes.bytes) == value)
            if sorted { #expect(String(decoding: bytes.bytes, as: UTF8.self) == value.serialized) }
        }
    }

    @Test func serializingThenParsingGivesTheSameValue() throws {
        let value: JSONValue = ["text": "line\nbreak \"quoted\" \u{1} ✓", "list": [1, 2.25, ["nested": nil]], "flag": true]
        #expect(try JSONValue(parsing: value.serialized) == value)
        let unordered: JSONValue = ["b": 1, "a": 2]
        #expect(unordered.serialized == #"{"a":2,"b":1}"#, "keys are sorted")
    }

    @Test(arguments: [
        ("", "unexpected end of input"), ("{", "expected a member name"), (#"{"a" 1}"#, "expected ':'"), ("[1,]", "unexpected character"),
        ("01", "unexpected text after the value"), (#""\x""#, "invalid escape"), (#""\ud83d""#, "unpaired surrogate"),
        ("\"tab\there\"", "control character in a string"), ("tru", "unexpected end of input"), ("[1] x", "unexpected text after the value"),
        ("-", "invalid number"), ("1.", "invalid number"),
    ])
    func malformedTextIsRefusedWithTheReason(text: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.reason == reason, "for \(text): \(error)")
        }
    }

    @Test func topLevelStringsReadOnlyTheChosenMembers() throws {
        let text = #"{"data": {"id": "nested", "list": [1, -2.5e3, {"id": "deeper"}, null, true]}, "id": "evt_1", "ty\u0070e": "a\"b", "n": 1}"#
        #expect(try JSONValue.topLevelStrings(["id", "type", "absent"], in: Array(text.utf8)) == ["evt_1", "a\"b", nil])
        // A member that is not a string reads as nil; a repeated member counts by its last value,
        // as JSONValue(parsing:) would read it.
        #expect(try JSONValue.topLevelStrings(["id"], in: Array(#"{"id": 7}"#.utf8)) == [nil])
        #expect(try JSONValue.topLevelStrings(["id"], in: Array(#"{"id": "a", "id": "b"}"#.utf8)) == ["b"])
        #expect(try JSONValue.topLevelStrings(["id"], in: Array(#"{"id": "a", "id": null}"#.utf8)) == [nil])
        #expect(try JSONValue.topLevelStrings(["id"], in: Array("{}".utf8)) == [nil])
        // Valid JSON that is not an object.
        #expect(try JSONValue.topLevelStrings(["id"], in: Array(#"[{"id": "a"}]"#.utf8)) == nil)
    }

    @Test(arguments: [
        "", "{", #"{"id": "a""#, #"{"id": "a",}"#, #"{"id": "a"} x"#, #"{"x": [1,]}"#, #"{"x": "\q"}"#, #"{"x": 01}"#,
        #"{"x": tru}"#, #"{"x": {"y" 1}}"#, "{\"x\": \"tab\there\"}", #"{"x": "\ud83d"}"#, #"{"x": -}"#,
        #"{"x": "never closed"#, #"{"x": "ends in an escaped quote\"}"#, "{\"x\": \"newline\nafter a long plain run\"}",
    ])
    func topLevelStringsCheckTheWholeDocument(text: String) {
        // Everything JSONValue(parsing:) refuses, the scan refuses too, even where the members it
        // reads are fine.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        #expect(throws: JSONParseError.self) { try JSONValue.topLevelStrings(["id"], in: Array(text.utf8)) }
    }

    @Test func base64MatchesFoundationForEveryPaddingCase() {
        var bytes: [UInt8] = []
        for length in 0..<70 {
            let expected = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes) == expected, "length \(length)")
            var json = JSONBytes(capacity: 0)
            json.base64String(bytes)
            #expect(String(decoding: json.bytes, as: UTF8.self) == "\"\(expected)\"", "length \(length), as a JSON string")
            bytes.append(UInt8(truncatingIfNeeded: length &* 37 &+ 251))
        }
    }

    @Test(arguments: [
        ("", #""""#), ("plain", #""plain""#), ("quote \" and backslash \\", #""quote \" and backslash \\""#),
        ("line\nfeed\rreturn\ttab", #""line\nfeed\rreturn\ttab""#), ("\u{0}\u{1}\u{1F}\u{7F}", "\"\\u0000\\u0001\\u001f\u{7F}\""),
        ("Zoë Ångström 😀 日本", #""Zoë Ångström 😀 日本""#), ("\"leading and trailing\"", #""\"leading and trailing\"""#),
        (String(repeating: "a\"", count: 300), "\"" + String(repeating: #"a\""#, count: 300) + "\""),
    ])
    func stringsAreEscapedOnlyWhereJSONRequiresAndParseBack(value: String, expected: String) throws {
        var bytes = JSONBytes(capacity: 0)
        bytes.string(value)
        let written = String(decoding: bytes.bytes, as: UTF8.self)
        #expect(written == expected)
        #expect(JSONText.string(value) == expected, "log lines and health answers escape the same way")
        #expect(try JSONValue(parsing: written).stringValue == value)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect { try JSONValue(parsing: deep) } throws: { ($0 as? JSONParseError)?.reason == "nested deeper than 256 levels" }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
    }

    @Test func envelopeRoundTripsThroughItsStoredForm() throws {
        let envelope = JobEnvelope(
            id: "j-1", type: "sync.run", priority: .high, tenant: "venue \"7\"", provider: "stripe", connection: nil,
            payload: ["resource": "customers", "ids": [1, 2]], attempt: 2, maxAttempts: 3,
            enqueuedAt: Date(timeIntervalSince1970: 1_800_000_000.123456), traceID: "abc", dedupeKey: "k",
            errors: [JobErrorRecord(at: Date(timeIntervalSince1970: 1_800_000_001.5), attempt: 1, errorClass: .retryable, message: "timeout\nafter 30 s")])
        let stored = envelope.encoded()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])
        #expect(object.keys.sorted() == ["attempt", "connection", "dedupe_key", "enqueued_at", "errors", "id", "max_attempts", "payload", "priority", "provider", "tenant", "trace_id", "traceparent", "type"])
        #expect(object["connection"] is NSNull && object["traceparent"] is NSNull)
        #expect(object["enqueued_at"] as? String == "2027-01-15T08:00:00.123456Z")
        let decoded = try JobEnvelope.decode(stored)
        #expect(decoded.encoded() == stored)
        #expect(decoded.tenant == "venue \"7\"" && decoded.errors.first?.message == "timeout\nafter 30 s")
        #expect(abs(decoded.enqueuedAt.timeIntervalSince(envelope.enqueuedAt)) < 0.000_001)
    }

    @Test func envelopeMissingAFieldIsRefused() {
        #expect(throws: EnvelopeError.self) { try JobEnvelope.decode(#"{"id":"x","type":"t","priority":"normal"}"#) }
        #expect(throws: EnvelopeError.self) { try JobEnvelope.decode("[]") }
    }
}

@Suite("Identifiers and timestamps")
struct IdentifierTests {
    @Test func jobIDsAreVersion4UUIDsAndUnique() {
        let ids = (0..<1000).map { _ in Identifiers.uuid() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(50) {
            #expect(UUID(uuidString: id) != nil, "\(id) is not a UUID")
            #expect(id == id.lowercased())
            let characters = Array(id)
            #expect(characters[14] == "4", "version 4")
            #expect("89ab".contains(characters[19]), "RFC 4122 variant")
        }
    }

    @Test func traceIDsAreThirtyTwoHexDigits() {
        let id = Identifiers.traceID()
        #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test func timestampsFormatInUTCWithMicroseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1_795_280_503.25)) == "2026-11-21T17:01:43.250000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500000Z")
    }

    /// The date arithmetic is our own (no gmtime_r): every day from 1900 to 2200, leap years and
    /// century rules included, must read as Foundation's Gregorian calendar reads it.
    @Test func timestampsAgreeWithTheGregorianCalendarOnEveryDayFrom1900To2200() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var mismatches: [String] = []
        // Noon plus an odd number of seconds, so the time of day is checked too.
        for day in stride(from: -25_567, through: 84_006, by: 1) {
            let seconds = Double(day) * 86_400 + Double(day.magnitude % 86_400)
            let date = Date(timeIntervalSince1970: seconds)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.000000Z", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
            let formatted = Timestamp.format(date)
            if formatted != expected { mismatches.append("\(formatted) != \(expected)") }
            if mismatches.count > 5 { break }
        }
        #expect(mismatches.isEmpty)
    }
}
