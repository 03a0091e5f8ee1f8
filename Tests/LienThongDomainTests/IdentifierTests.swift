import Crypto
import Foundation
import LienThongDomain
import PropertyBased
import Testing

@Suite("Identifiers and text")
struct IdentifierTests {
    @Test func validIdentifiersParse() throws {
        let code = try DossierCode("000.00.12.H56-250701-0001")
        #expect(code.receivingAgency.rawValue == "000.00.12.H56")
        #expect(code.date == CivilDate(year: 2025, month: 7, day: 1))
        #expect(code.sequence == 1)
        #expect(try AgencyID("000.00.12.H26").rawValue == "000.00.12.H26")
        let local = try ProcedureCode("1.001776.000.00.00.H56")
        #expect(local.national == "1.001776")
        #expect(local.localSuffix == "000.00.00.H56")
        #expect(local.nationalCode == (try ProcedureCode("1.001776")))
        #expect(try ProcedureCode("2.000488").localSuffix == nil)
        #expect(try CommuneCode("00004").rawValue == "00004")
        #expect(CommuneCode(number: 4)?.rawValue == "00004")
        #expect(try ProvinceCode("01").rawValue == "01")
    }

    @Test(arguments: [
        ("", IdentifierError.Rule.empty),
        ("000.00.12.H56", .dossierCodeFormat),
        ("000.00.12.H56-250701", .dossierCodeFormat),
        ("00.00.12.H56-250701-0001", .agencyIDFormat),
        ("000.00.12.h56-250701-0001", .agencyIDFormat),
        ("000.00.12.H56-250230-0001", .dossierCodeDate),
        ("000.00.12.H56-25071-0001", .dossierCodeDate),
        ("000.00.12.H56-250701-001", .dossierCodeSequence),
        ("000.00.12.H56-250701-0000", .dossierCodeSequence),
        ("000.00.12.H56-250701-00a1", .dossierCodeSequence),
    ])
    func dossierCodeRulesEachHaveTheirError(text: String, rule: IdentifierError.Rule) {
        #expect(throws: IdentifierError(rule: rule, kind: "dossier code")) { try DossierCode(text) }
    }

    @Test(arguments: [
        ("1.00177", IdentifierError.Rule.procedureCodeFormat), ("1-001776", .procedureCodeFormat),
        ("x.001776", .procedureCodeFormat), ("1.001776.H56", .procedureCodeSuffix),
        ("1.001776000.00.00.H56", .procedureCodeSuffix),
    ])
    func procedureCodeRules(text: String, rule: IdentifierError.Rule) {
        #expect(throws: IdentifierError(rule: rule, kind: "procedure code")) { try ProcedureCode(text) }
    }

    @Test func unitCodeRules() {
        #expect(throws: IdentifierError(rule: .communeCodeFormat, kind: "commune code")) { try CommuneCode("0004") }
        #expect(throws: IdentifierError(rule: .communeCodeFormat, kind: "commune code")) { try CommuneCode("0000４") }
        #expect(throws: IdentifierError(rule: .provinceCodeFormat, kind: "province code")) { try ProvinceCode("1") }
        #expect(CommuneCode(number: 100_000) == nil)
    }

    @Test(arguments: [
        ("CCCD 001203004567 filed", "CCCD ********4567 filed"),
        ("offset 12345678901234 stays", "offset 12345678901234 stays"),
        ("unit 00004, short 12345 stay", "unit 00004, short 12345 stay"),
        ("001203004567", "********4567"),
        ("a001203004567b/079085001234", "a********4567b/********1234"),
        ("full-width ０01203004567 is not ASCII", "full-width ０01203004567 is not ASCII"),
    ])
    func everyCitizenIDInFreeTextIsMasked(text: String, masked: String) {
        #expect(CitizenID.maskingEvery(in: text) == masked)
    }

    @Test func citizenIDIsMaskedAndHashedNeverPrinted() throws {
        let id = try CitizenID(" 001203004567 ")
        #expect(id.masked == "********4567")
        #expect("\(id)" == "********4567", "interpolation cannot leak the digits")
        #expect(!String(reflecting: id).contains("001203"))
        let key = SymmetricKey(data: Array("test-key-1".utf8))
        #expect(id.keyedHash(using: key) == (try CitizenID("001203004567")).keyedHash(using: key))
        #expect(id.keyedHash(using: key) != id.keyedHash(using: SymmetricKey(data: Array("test-key-2".utf8))))
        #expect(id.keyedHash(using: key).count == 64)
        #expect(throws: IdentifierError(rule: .citizenIDLength, kind: "citizen id")) { try CitizenID("0012030045") }
        #expect(throws: IdentifierError(rule: .citizenIDDigits, kind: "citizen id")) { try CitizenID("00120300456７") }
    }

    @Test func maskingNeverShowsMoreThanFourDigits() async {
        await propertyCheck(input: Gen.number.string(of: 12)) { digits in
            let masked = (try? CitizenID(digits))?.masked ?? ""
            #expect(masked.count == 12)
            #expect(masked.filter(\.isNumber).count <= 4)
        }
    }

    @Test func nfcNormalisationMakesNFDAndNFCTheSameBytes() throws {
        let nfd = "Phường Ba Đình".decomposedStringWithCanonicalMapping
        #expect(nfd.unicodeScalars.contains("\u{031B}"), "the horn is a combining mark in NFD")
        let normalized = try NormalizedText(nfd).value
        #expect(Array(normalized.utf8) == Array("Phường Ba Đình".utf8))
        #expect(Array(nfd.utf8) != Array(normalized.utf8))
    }

    @Test(arguments: [
        ("a\u{0}b", NormalizedText.Rejection.nulCharacter), ("a\u{7}b", .controlCharacter),
        ("a\u{202E}b", .bidirectionalOverride),
    ])
    func unsafeCharactersAreRejected(text: String, rejection: NormalizedText.Rejection) {
        #expect(throws: rejection) { try NormalizedText(text) }
    }

    @Test func nfcIsIdempotent() async {
        let vietnamese = Gen.unicodeScalar(in: "\u{0041}"..."\u{1EF9}").map { Character($0) }.string(of: 0...24)
        await propertyCheck(input: vietnamese) { text in
            let once = NormalizedText.nfc(text)
            #expect(NormalizedText.nfc(once) == once)
            #expect(Array(NormalizedText.nfc(text.decomposedStringWithCanonicalMapping).utf8) == Array(once.utf8))
        }
    }
}
