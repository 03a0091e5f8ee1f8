import Foundation
import LienThongDomain
import Testing

private let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Schemas/examples/inbound-event")

private func files(_ kind: String) -> [URL] {
    ((try? FileManager.default.contentsOfDirectory(
        at: examples.appendingPathComponent(kind), includingPropertiesForKeys: nil)) ?? [])
        .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
}

@Suite("Inbound event contract: the Swift decoder agrees with Schemas/")
struct InboundEventContractTests {
    let decoder = InboundEventDecoder()

    @Test func theContractHasExamples() {
        #expect(files("valid").count == InboundEventType.allCases.count, "one valid example per event type")
        #expect(files("invalid").count >= 15)
    }

    @Test(arguments: files("valid"))
    func everyValidExampleDecodes(file: URL) throws {
        let bytes = Array(try Data(contentsOf: file))
        let event = try decoder.decode(bytes).get()
        #expect(event.subject.rawValue == "001.00.80.H26-250702-0001")
    }

    @Test(arguments: files("invalid"))
    func everyInvalidExampleIsRejectedWithTheReasonItIsNamedAfter(file: URL) throws {
        let bytes = Array(try Data(contentsOf: file))
        let expected = file.deletingPathExtension().lastPathComponent
        #expect(throws: EventRejection.self) { try decoder.decode(bytes).get() }
        if case .failure(let rejection) = decoder.decode(bytes) { #expect(rejection.reason == expected) }
    }

    /// Every one-byte deletion, replacement and truncation of every valid example is decoded or rejected without a
    /// trap, and the rejection's class agrees with the JSON: a schema violation exactly when the text itself is
    /// well-formed JSON within the limits.
    @Test(arguments: files("valid"))
    func damagedEventsAreRejectedWithTheRightClass(file: URL) throws {
        let original = Array(try Data(contentsOf: file))
        let replacements: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x2C, 0x31, 0x00, 0xC3]
        var damaged: [[UInt8]] = []
        for index in original.indices {
            var deleted = original
            deleted.remove(at: index)
            damaged.append(deleted)
            damaged.append(Array(original[..<index]))
            for byte in replacements where byte != original[index] {
                var replaced = original
                replaced[index] = byte
                damaged.append(replaced)
            }
        }
        for bytes in damaged {
            let isJSON = (try? JSONReader.parse(bytes)) != nil
            switch decoder.decode(bytes) {
            case .success: #expect(isJSON, "accepted \(String(decoding: bytes, as: UTF8.self))")
            case .failure(let rejection):
                #expect(
                    (rejection.errorClass == .schemaViolation) == isJSON,
                    "\(rejection) for \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    @Test func aReceivedEventDecodesIntoTypedValues() throws {
        let bytes = Array(try Data(contentsOf: examples.appendingPathComponent("valid/dossier-received.json")))
        let event = try decoder.decode(bytes).get()
        #expect(event.type == .received)
        #expect(event.dossierVersion == 2)
        #expect(event.time == Date(timeIntervalSince1970: 1_751_418_900))  // 2025-07-02T01:15:00Z
        guard case .opening(let opening) = event.data else {
            Issue.record("expected an opening")
            return
        }
        #expect(opening.procedure.national == "1.001193")
        #expect(opening.applicantName == "Nguyễn Văn An")
        #expect("\(opening.applicantCitizenID!)" == "********4567")
        #expect(event.dossierEvent.change == .status(.received))
    }

    @Test func namesArriveNFCWhateverTheSenderUsed() throws {
        let nfd = "Nguyễn Văn An".decomposedStringWithCanonicalMapping
        var text = try String(
            contentsOf: examples.appendingPathComponent("valid/dossier-received.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "Nguyễn Văn An", with: nfd)
        guard case .opening(let opening) = try decoder.decode(Array(text.utf8)).get().data else {
            Issue.record("expected an opening")
            return
        }
        #expect(Array(opening.applicantName.utf8) == Array("Nguyễn Văn An".utf8))
    }

    @Test func limitsAreEnforcedBeforeAnythingElse() {
        var limits = JSONLimits()
        limits.maxDepth = 4
        var decoder = InboundEventDecoder()
        decoder.limits = limits
        let deep = Array((String(repeating: "[", count: 10) + String(repeating: "]", count: 10)).utf8)
        #expect(decoder.decode(deep) == .failure(EventRejection(errorClass: .oversize, reason: "too_deep")))
        let large = Array(("{\"id\":\"" + String(repeating: "x", count: 70_000) + "\"}").utf8)
        #expect(
            InboundEventDecoder().decode(large) == .failure(EventRejection(errorClass: .oversize, reason: "too_large")))
        #expect(
            InboundEventDecoder().decode(Array(#"{"id":"a","id":"b"}"#.utf8))
                == .failure(EventRejection(errorClass: .malformed, reason: "duplicate_key")))
        #expect(
            InboundEventDecoder().decode(Array("{\"id\":\"a\u{0}\"}".utf8))
                == .failure(EventRejection(errorClass: .nulCharacter, reason: "nul_character")))
    }

    @Test(arguments: [
        ("2025-07-02T08:15:00+07:00", 1_751_418_900.0), ("2025-07-02T01:15:00Z", 1_751_418_900.0),
        ("2025-07-02T01:15:00.5Z", 1_751_418_900.5),
    ])
    func timestampsNeedAnOffset(text: String, seconds: Double) throws {
        let event =
            #"{"specversion":"1.0","id":"x","source":"/agencies/001.00.80.H26","type":"vn.gov.lienthong.portal.sync-failed","time":"\#(text)","subject":"001.00.80.H26-250702-0001","produceragency":"001.00.80.H26","data":{"reason":"r"}}"#
        #expect(try InboundEventDecoder().decode(Array(event.utf8)).get().time == Date(timeIntervalSince1970: seconds))
        let noOffset = event.replacingOccurrences(of: text, with: "2025-07-02T01:15:00")
        #expect(
            InboundEventDecoder().decode(Array(noOffset.utf8))
                == .failure(EventRejection(errorClass: .schemaViolation, reason: "invalid_attribute.time")))
    }
}
