import Foundation
import Testing

@testable import LienThongWorker

@Suite("Outbox payload writer")
struct JSONWriterTests {
    @Test(arguments: [
        "001.00.80.H26-250702-0001", "Phường Hoàn Kiếm", "", #"say "hi""#, #"C:\path"#, "two\nlines\tand\r",
        "bell\u{07} and unit separator\u{1F}", #"ends with a backslash\"#,
    ])
    func stringsRoundTripThroughAJSONParser(text: String) throws {
        var json = JSONWriter()
        json.field("text", text)
        json.field("after", 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.finish())) as? [String: Any]
        #expect(parsed?["text"] as? String == text)
        #expect(parsed?["after"] as? Int == 1)
    }

    @Test func stringsNeedingNoEscapeAreCopiedAsTheyAre() {
        var json = JSONWriter()
        json.field("unit", "Sở Tư pháp")
        #expect(String(decoding: json.finish(), as: UTF8.self) == #"{"unit":"Sở Tư pháp"}"#)
    }

    /// Every kind of field, written exactly: timestamps at UTC+7 (seconds dropped down, across a day, a leap day and
    /// 1970), integers at their extremes, nulls, a nested object and a list.
    @Test func fieldsAreWrittenExactly() {
        var json = JSONWriter()
        json.field("at", timestamp: Date(timeIntervalSince1970: 1_751_418_660.9))  // 2025-07-02 01:11:00.9 UTC
        json.field("thoiDiem", portalTimestamp: Date(timeIntervalSince1970: 1_751_418_660.9))
        json.field("leapDay", timestamp: Date(timeIntervalSince1970: 1_835_456_399))  // 2028-02-29 16:59:59 UTC
        json.field("epoch", portalTimestamp: Date(timeIntervalSince1970: -1))  // 1969-12-31 23:59:59 UTC
        json.field("zero", 0)
        json.field("negative", -45)
        json.field("largest", Int64.max)
        json.field("smallest", Int64.min)
        json.field("none", nil as Int?)
        json.beginObject("data")
        json.field("step", 10)
        json.field("holder", nil as String?)
        json.endObject()
        json.field("candidates", strings: ["00004", #"a"b"#])
        #expect(
            String(decoding: json.finish(), as: UTF8.self)
                == #"{"at":"2025-07-02T08:11:00+07:00","thoiDiem":"20250702081100","#
                + #""leapDay":"2028-02-29T23:59:59+07:00","epoch":"19700101065959","zero":0,"negative":-45,"#
                + #""largest":9223372036854775807,"smallest":-9223372036854775808,"none":null,"#
                + #""data":{"step":10,"holder":null},"candidates":["00004","a\"b"]}"#)
    }
}
