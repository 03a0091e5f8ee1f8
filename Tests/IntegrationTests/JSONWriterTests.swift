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
}
