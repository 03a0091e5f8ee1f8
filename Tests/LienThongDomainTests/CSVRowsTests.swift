import Testing

@testable import LienThongDomain

@Suite("CSV rows of the reference tables")
struct CSVRowsTests {
    @Test func quotedFieldsHoldCommasDoubledQuotesAndLineBreaks() {
        let text = "\"Tỉnh, thành phố\",Mã\r\n\"Xã \"\"Mới\"\"\",\"a\nb\",\r\nHà Nội,00004"
        #expect(
            CSVRows.parse(text) == [
                ["Tỉnh, thành phố", "Mã"], ["Xã \"Mới\"", "a\nb", ""], ["Hà Nội", "00004"],
            ])
    }

    @Test func aFinalLineBreakAddsNoEmptyRowAndEmptyFieldsAreKept() {
        #expect(CSVRows.parse(",,\n") == [["", "", ""]])
        #expect(CSVRows.parse("") == [])
        #expect(CSVRows.parse("\n") == [[""]])
    }

    @Test(arguments: [
        ("00004", "00004"), ("  THÀNH PHỐ HÀ NỘI  ", "THÀNH PHỐ HÀ NỘI"),
        ("\tPhường Ba Đình\u{00A0}", "Phường Ba Đình"),
        ("Ba Đình", "Ba Đình"), ("", ""), ("   ", ""),
    ])
    func whitespaceIsTrimmedAtBothEndsOnly(text: String, trimmed: String) {
        #expect(text.trimmingWhitespace() == trimmed)
        #expect(text[...].trimmingWhitespace() == trimmed)
    }
}
