/// Limits on untrusted JSON, checked while parsing.
public struct JSONLimits: Sendable, Hashable {
    /// Largest accepted document, in bytes. Default: 64 KiB.
    public var maxBytes = 64 * 1024
    /// Deepest nesting of objects and arrays. Default: 32.
    public var maxDepth = 32
    /// Longest string, in UTF-8 bytes. Default: 8 KiB.
    public var maxStringBytes = 8 * 1024

    public init() {}
}

/// A JSON document that ``JSONReader`` checked in full, kept as its values in document order, each a range of the
/// text. A decoder reads the members it needs from it; nothing is copied out until asked for (a tree of strings
/// and member arrays cost an allocation per string and per object, and reference counting on every copy).
public struct JSONDocument: Sendable {
    /// What a value is.
    public enum Kind: Sendable, Hashable {
        case object, array, string, number, bool, null
    }

    /// One value of the document (or one object key, which is a string).
    public struct Value: Sendable, Hashable {
        fileprivate let token: Int
    }

    fileprivate struct Token: Sendable {
        var kind: Kind
        /// Strings: the text between the quotes (one with escapes is read from `decoded` instead); other values:
        /// their whole text.
        var start: Int
        var end: Int
        /// The token after this value and everything inside it.
        var next: Int
        /// A string with escapes: its decoded text's index in `decodedTexts`; otherwise -1.
        var decoded: Int

        /// A string's decoded text.
        func utf8(in bytes: [UInt8], decodedTexts: [String]) -> ArraySlice<UInt8> {
            decoded >= 0 ? ArraySlice(decodedTexts[decoded].utf8) : bytes[start..<end]
        }

        /// Whether a string's decoded text is `text`, compared in place (a slice of the bytes per comparison
        /// retained and released them), lengths first: the names a decoder tries share long prefixes
        /// (`vn.gov.lienthong.dossier.`), which a byte-by-byte walk through the string's view read again each time.
        func hasText(_ text: String, in bytes: [UInt8], decodedTexts: [String]) -> Bool {
            guard decoded < 0 else { return decodedTexts[decoded].utf8.elementsEqual(text.utf8) }
            let utf8 = text.utf8
            guard utf8.count == end - start else { return false }
            return utf8.withContiguousStorageIfAvailable { text in
                for offset in 0..<text.count where text[offset] != bytes[start + offset] { return false }
                return true
            } ?? utf8.elementsEqual(bytes[start..<end])
        }

        /// Whether two strings' decoded texts are the same.
        func hasSameText(as other: Token, in bytes: [UInt8], decodedTexts: [String]) -> Bool {
            guard decoded < 0, other.decoded < 0 else {
                return utf8(in: bytes, decodedTexts: decodedTexts)
                    .elementsEqual(other.utf8(in: bytes, decodedTexts: decodedTexts))
            }
            guard end - start == other.end - other.start else { return false }
            for offset in 0..<(end - start) where bytes[start + offset] != bytes[other.start + offset] { return false }
            return true
        }
    }

    private let bytes: [UInt8]
    private let tokens: [Token]
    private let decodedTexts: [String]

    fileprivate init(bytes: [UInt8], tokens: [Token], decodedTexts: [String]) {
        self.bytes = bytes
        self.tokens = tokens
        self.decodedTexts = decodedTexts
    }

    /// The document's top-level value.
    public var root: Value { Value(token: 0) }

    /// What `value` is.
    public func kind(of value: Value) -> Kind { tokens[value.token].kind }

    /// A string's text, decoded; nil for any other kind.
    public func string(_ value: Value) -> String? {
        let token = tokens[value.token]
        guard token.kind == .string else { return nil }
        if token.decoded >= 0 { return decodedTexts[token.decoded] }
        return bytes.withContiguousStorageIfAvailable {
            String(decoding: $0[token.start..<token.end], as: UTF8.self)
        } ?? String(decoding: bytes[token.start..<token.end], as: UTF8.self)
    }

    /// A string's text as UTF-8, decoded, without making a `String` of it; nil for any other kind.
    public func utf8(_ value: Value) -> ArraySlice<UInt8>? {
        let token = tokens[value.token]
        guard token.kind == .string else { return nil }
        return token.utf8(in: bytes, decodedTexts: decodedTexts)
    }

    /// Whether the value is a string whose text is exactly `text`, byte for byte.
    public func string(_ value: Value, is text: String) -> Bool {
        let token = tokens[value.token]
        guard token.kind == .string else { return false }
        return token.hasText(text, in: bytes, decodedTexts: decodedTexts)
    }

    /// An integer number (no fraction or exponent) that fits in 64 bits; nil for anything else.
    public func integer(_ value: Value) -> Int64? {
        let token = tokens[value.token]
        guard token.kind == .number else { return nil }
        return Int64(String(decoding: bytes[token.start..<token.end], as: UTF8.self))
    }

    /// A `true` or `false` literal's value; nil for any other kind.
    public func bool(_ value: Value) -> Bool? {
        let token = tokens[value.token]
        guard token.kind == .bool else { return nil }
        return bytes[token.start] == UInt8(ascii: "t")
    }

    /// An object's members in document order (keys are unique); empty for any other kind.
    public func members(of object: Value) -> Members {
        let token = tokens[object.token]
        return token.kind == .object
            ? Members(tokens: tokens, key: object.token + 1, end: token.next)
            : Members(tokens: tokens, key: 0, end: 0)
    }

    /// The member `key` of an object; nil if there is none or the value is not an object.
    public func member(_ key: String, of object: Value) -> Value? {
        let container = tokens[object.token]
        guard container.kind == .object else { return nil }
        var member = object.token + 1
        while member < container.next {
            if tokens[member].hasText(key, in: bytes, decodedTexts: decodedTexts) { return Value(token: member + 1) }
            member = tokens[member + 1].next
        }
        return nil
    }

    /// The members of an object, each a key (a string value) and its value.
    public struct Members: Sequence, IteratorProtocol, Sendable {
        fileprivate let tokens: [Token]
        fileprivate var key: Int
        fileprivate let end: Int

        public mutating func next() -> (key: Value, value: Value)? {
            guard key < end else { return nil }
            let member = key
            key = tokens[member + 1].next
            return (Value(token: member), Value(token: member + 1))
        }
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes for untrusted input: it refuses what PostgreSQL or the contracts
/// would refuse later (NUL characters, duplicate keys, oversized or deeply nested documents), each with its own
/// error, before anything is read from the document.
public struct JSONReader {
    /// Why a document was refused.
    public enum Failure: Error, Sendable, Hashable {
        case tooLarge
        case tooDeep
        case stringTooLong
        case nulCharacter
        case duplicateKey(String)
        case malformed(offset: Int)
    }

    private let bytes: [UInt8]
    private var index = 0
    private let limits: JSONLimits
    private var tokens: [JSONDocument.Token] = []
    private var decodedTexts: [String] = []

    /// Parses and checks one JSON document.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(Failure) -> JSONDocument {
        guard bytes.count <= limits.maxBytes else { throw .tooLarge }
        var reader = JSONReader(bytes: bytes, limits: limits)
        // An event envelope with its data: about 30 values and keys.
        reader.tokens.reserveCapacity(48)
        reader.skipWhitespace()
        try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw .malformed(offset: reader.index) }
        return JSONDocument(bytes: bytes, tokens: reader.tokens, decodedTexts: reader.decodedTexts)
    }

    private init(bytes: [UInt8], limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }

    /// Appends a token for a value that has nothing inside it.
    private mutating func appendLeaf(_ kind: JSONDocument.Kind, from start: Int, decoded: Int = -1) {
        tokens.append(
            JSONDocument.Token(kind: kind, start: start, end: index, next: tokens.count + 1, decoded: decoded))
    }

    private mutating func value(depth: Int) throws(Failure) {
        guard index < bytes.count else { throw .malformed(offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"): try container(.object, depth: depth + 1)
        case UInt8(ascii: "["): try container(.array, depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true", .bool)
        case UInt8(ascii: "f"): try literal("false", .bool)
        case UInt8(ascii: "n"): try literal("null", .null)
        default: try number()
        }
    }

    private mutating func literal(_ text: StaticString, _ kind: JSONDocument.Kind) throws(Failure) {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw .malformed(offset: index) }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] {
            throw .malformed(offset: index)
        }
        let start = index
        index += count
        appendLeaf(kind, from: start)
    }

    /// Opens a container's token; ``close(_:)`` completes it.
    private mutating func open(_ kind: JSONDocument.Kind) -> Int {
        tokens.append(JSONDocument.Token(kind: kind, start: index, end: index, next: 0, decoded: -1))
        index += 1
        return tokens.count - 1
    }

    private mutating func close(_ container: Int) {
        index += 1
        tokens[container].end = index
        tokens[container].next = tokens.count
    }

    /// An object or an array: members or elements separated by commas, up to the closing bracket.
    private mutating func container(_ kind: JSONDocument.Kind, depth: Int) throws(Failure) {
        guard depth <= limits.maxDepth else { throw .tooDeep }
        let closing = kind == .object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        let container = open(kind)
        skipWhitespace()
        if index < bytes.count, bytes[index] == closing {
            close(container)
            return
        }
        var keys = ObjectKeys()
        while true {
            skipWhitespace()
            if kind == .object { try key(of: container, keys: &keys) }
            try value(depth: depth)
            skipWhitespace()
            guard index < bytes.count else { throw .malformed(offset: index) }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == closing else { throw .malformed(offset: index) }
            close(container)
            return
        }
    }

    /// An object member's key and the colon after it.
    private mutating func key(of object: Int, keys: inout ObjectKeys) throws(Failure) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed(offset: index) }
        let key = tokens.count
        try string()
        try refuseDuplicate(key, in: object, keys: &keys)
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw .malformed(offset: index) }
        index += 1
        skipWhitespace()
    }

    /// The keys read so far of the object being read. Up to ``comparedOneByOne`` keys a new key is compared with
    /// each earlier one in place (an event's objects have about a dozen); beyond that the keys go into a set, so
    /// that a hostile object of thousands of keys costs linear time, not quadratic.
    private struct ObjectKeys {
        static let comparedOneByOne = 16
        var count = 0
        /// The texts of the keys, once there are more than ``comparedOneByOne``.
        var texts: Set<ArraySlice<UInt8>>?
    }

    /// Throws if an earlier key of `object` has the same text as the key token `key` (its last token).
    private func refuseDuplicate(_ key: Int, in object: Int, keys: inout ObjectKeys) throws(Failure) {
        keys.count += 1
        if keys.count <= ObjectKeys.comparedOneByOne {
            var earlier = object + 1
            while earlier < key {
                if tokens[earlier].hasSameText(as: tokens[key], in: bytes, decodedTexts: decodedTexts) {
                    throw duplicate(key)
                }
                earlier = tokens[earlier + 1].next
            }
            return
        }
        try refuseDuplicate(amongMany: key, in: object, keys: &keys)
    }

    /// The same check, for an object past ``ObjectKeys/comparedOneByOne`` keys (kept out of line: inlined, the set's
    /// code slowed the common case).
    @inline(never)
    private func refuseDuplicate(amongMany key: Int, in object: Int, keys: inout ObjectKeys) throws(Failure) {
        if keys.texts == nil {
            var texts = Set<ArraySlice<UInt8>>(minimumCapacity: 2 * ObjectKeys.comparedOneByOne)
            var earlier = object + 1
            while earlier < key {
                texts.insert(tokens[earlier].utf8(in: bytes, decodedTexts: decodedTexts))
                earlier = tokens[earlier + 1].next
            }
            keys.texts = texts
        }
        guard keys.texts!.insert(tokens[key].utf8(in: bytes, decodedTexts: decodedTexts)).inserted else {
            throw duplicate(key)
        }
    }

    private func duplicate(_ key: Int) -> Failure {
        .duplicateKey(String(decoding: tokens[key].utf8(in: bytes, decodedTexts: decodedTexts), as: UTF8.self))
    }

    private mutating func string() throws(Failure) {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes; the token is the text between the quotes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard index - start <= limits.maxStringBytes else { throw .stringTooLong }
                appendLeaf(.string, from: start)  // ends at the closing quote
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte == 0 { throw .nulCharacter }
            if byte < 0x20 { throw .malformed(offset: index) }
            index += 1
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard scalars.count <= limits.maxStringBytes else { throw .stringTooLong }
                decodedTexts.append(String(decoding: scalars, as: UTF8.self))
                appendLeaf(.string, from: start, decoded: decodedTexts.count - 1)
                return
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw .malformed(offset: index) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else {
                            throw .malformed(offset: index)
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw .malformed(offset: index) }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw .malformed(offset: index)
                    }
                    if code == 0 { throw .nulCharacter }
                    scalars.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
                default: throw .malformed(offset: index)
                }
            case 0: throw .nulCharacter
            case 0..<0x20: throw .malformed(offset: index - 1)
            default: scalars.append(byte)
            }
        }
        throw .malformed(offset: index)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw .malformed(offset: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw .malformed(offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func number() throws(Failure) {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw .malformed(offset: index)
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw .malformed(offset: index) }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw .malformed(offset: index) }
        }
        appendLeaf(.number, from: start)
    }
}
