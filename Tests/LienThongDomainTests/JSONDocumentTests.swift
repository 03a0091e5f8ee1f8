import LienThongDomain
import Testing

@Suite("JSON documents read in place")
struct JSONDocumentTests {
    private func parse(_ text: String) throws -> JSONDocument {
        try JSONReader.parse(Array(text.utf8))
    }

    @Test func membersComeInDocumentOrderPastNestedValues() throws {
        let document = try parse(#"{"a":{"x":[1,{"y":2}],"z":{}},"b":[[],[3]],"c":"last"}"#)
        let keys = document.members(of: document.root).map { document.string($0.key) }
        #expect(keys == ["a", "b", "c"])
        let c = try #require(document.member("c", of: document.root))
        #expect(document.string(c) == "last")
        let a = try #require(document.member("a", of: document.root))
        #expect(document.members(of: a).map { document.string($0.key) } == ["x", "z"])
        #expect(document.member("y", of: document.root) == nil)
        #expect(document.member("a", of: c) == nil)
        #expect(document.members(of: c).map { document.string($0.key) }.isEmpty)
    }

    @Test func valuesReadAsTheirKindOnly() throws {
        let document = try parse(
            #"{"s":"t\u00e9xt\n","n":-42,"f":1.5,"e":1e2,"big":9223372036854775808,"t":true,"no":false,"z":null}"#)
        func value(_ key: String) throws -> JSONDocument.Value { try #require(document.member(key, of: document.root)) }
        #expect(document.string(try value("s")) == "t\u{e9}xt\n")
        #expect(document.string(try value("s"), is: "t\u{e9}xt\n"))
        #expect(!document.string(try value("s"), is: "text\n"))
        #expect(document.utf8(try value("s")).map(Array.init) == Array("t\u{e9}xt\n".utf8))
        #expect(document.integer(try value("n")) == -42)
        #expect(document.integer(try value("f")) == nil)
        #expect(document.integer(try value("e")) == nil)
        #expect(document.integer(try value("big")) == nil)
        #expect(document.bool(try value("t")) == true)
        #expect(document.bool(try value("no")) == false)
        #expect(document.kind(of: try value("z")) == .null)
        #expect(document.string(try value("n")) == nil)
        #expect(document.bool(try value("s")) == nil)
        #expect(document.kind(of: document.root) == .object)
    }

    @Test func keysAreComparedAsDecodedText() throws {
        let document = try parse(#"{"\u0061b":1}"#)
        #expect(document.member("ab", of: document.root).flatMap { document.integer($0) } == 1)
        #expect(throws: JSONReader.Failure.duplicateKey("ab")) { try parse(#"{"ab":1,"\u0061b":2}"#) }
        #expect(throws: JSONReader.Failure.duplicateKey("k")) { try parse(#"{"o":{"k":1,"j":[{"k":1}],"k":2}}"#) }
        // The same key in different objects is no duplicate.
        _ = try parse(#"{"k":{"k":{"k":1}},"j":{"k":2}}"#)
    }

    /// Objects of many keys keep them in a set (a hostile event's thousands of keys cost linear time): the same
    /// answers as for a few keys, compared one by one.
    @Test func objectsOfManyKeysRefuseDuplicatesAsSmallOnesDo() throws {
        func object(_ keys: some Sequence<String>) -> String {
            "{" + keys.map { "\"\($0)\":0" }.joined(separator: ",") + "}"
        }
        let distinct = (0..<40).map { "k\($0)" }
        let document = try parse(object(distinct))
        #expect(document.member("k39", of: document.root).flatMap { document.integer($0) } == 0)
        #expect(throws: JSONReader.Failure.duplicateKey("k0")) { try parse(object(distinct + ["k0"])) }
        #expect(throws: JSONReader.Failure.duplicateKey("k20")) { try parse(object(distinct + ["k20"])) }
        // A key written with an escape is the same key, whichever of the two comes first.
        #expect(throws: JSONReader.Failure.duplicateKey("k3")) { try parse(object(distinct + [#"\u006b3"#])) }
        #expect(throws: JSONReader.Failure.duplicateKey("k33")) {
            try parse(object([#"\u006b33"#] + distinct))
        }
        // The first duplicate past the sixteenth key, or at it.
        #expect(throws: JSONReader.Failure.duplicateKey("k5")) { try parse(object(distinct[..<15] + ["k5"])) }
        #expect(throws: JSONReader.Failure.duplicateKey("k5")) { try parse(object(distinct[..<16] + ["k5"])) }
        // Each object has its own keys, however many its parent has.
        _ = try parse("{" + distinct.map { "\"\($0)\":" + object(distinct) }.joined(separator: ",") + "}")
    }

    @Test func refusalsNameWhatIsWrong() {
        var limits = JSONLimits()
        limits.maxStringBytes = 4
        limits.maxDepth = 2
        func refusal(_ text: String) -> JSONReader.Failure? {
            do {
                _ = try JSONReader.parse(Array(text.utf8), limits: limits)
                return nil
            } catch { return error }
        }
        #expect(refusal(#"{"a":"abcd"}"#) == nil)
        #expect(refusal(#"{"a":"abcde"}"#) == .stringTooLong)
        #expect(refusal(#"{"a":"ab\ncd"}"#) == .stringTooLong)
        #expect(refusal(#"{"a":[[1]]}"#) == .tooDeep)
        #expect(refusal(#"{"a":"\u0000"}"#) == .nulCharacter)
        #expect(refusal("{\"a\":\"\u{0}\"}") == .nulCharacter)
        #expect(refusal(#"{"a":1,}"#) == .malformed(offset: 7))
        #expect(refusal(#"{"a":01}"#) == .malformed(offset: 6))
        #expect(refusal(#"{"a":"\ud800"}"#) == .malformed(offset: 12))
        #expect(refusal(#"{"a":1} x"#) == .malformed(offset: 8))
    }
}
