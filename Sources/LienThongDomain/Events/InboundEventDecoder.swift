import struct Foundation.Date

/// Decodes and validates inbound events against the `inbound-event` contract (`Schemas/inbound-event.schema.json`),
/// rejecting with the same reasons the contract's invalid examples are named after. Text is NFC-normalised.
public struct InboundEventDecoder: Sendable {
    /// Size, depth and string limits on the raw JSON.
    public var limits = JSONLimits()

    public init() {}

    /// Decodes one event from its Kafka value bytes.
    public func decode(_ bytes: [UInt8]) -> Result<InboundEvent, EventRejection> {
        do {
            return .success(try decodeOrThrow(bytes))
        } catch {
            return .failure(error)
        }
    }

    private func decodeOrThrow(_ bytes: [UInt8]) throws(EventRejection) -> InboundEvent {
        let root: JSONValue
        do {
            root = try JSONReader.parse(bytes, limits: limits)
        } catch {
            switch error {
            case .tooLarge: throw EventRejection(errorClass: .oversize, reason: "too_large")
            case .tooDeep: throw EventRejection(errorClass: .oversize, reason: "too_deep")
            case .stringTooLong: throw EventRejection(errorClass: .oversize, reason: "string_too_long")
            case .nulCharacter: throw EventRejection(errorClass: .nulCharacter, reason: "nul_character")
            case .duplicateKey: throw EventRejection(errorClass: .malformed, reason: "duplicate_key")
            case .malformed: throw EventRejection(errorClass: .malformed, reason: "malformed_json")
            }
        }
        guard case .object(let members) = root else { throw violation("not_an_object") }
        let envelope = try Envelope(members)
        guard envelope.specversion == .string("1.0") else { throw violation("invalid_attribute.specversion") }
        let id = try text(envelope.id, maxLength: 128, minLength: 1, reason: "invalid_attribute.id")
        guard case .string(let sourceText) = envelope.source, sourceText.hasPrefix("/agencies/"),
            let source = try? AgencyID(sourceText.dropFirst("/agencies/".count))
        else { throw violation("invalid_attribute.source") }
        guard case .string(let typeText) = envelope.type else { throw violation("invalid_attribute.type") }
        guard let type = InboundEventType(rawValue: typeText) else { throw violation("unknown_type") }
        guard case .string(let timeText) = envelope.time, let time = Self.timestamp(timeText) else {
            throw violation("invalid_attribute.time")
        }
        guard case .string(let subjectText) = envelope.subject, let subject = try? DossierCode(subjectText) else {
            throw violation("invalid_attribute.subject")
        }
        if let contentType = envelope.datacontenttype, contentType != .string("application/json") {
            throw violation("invalid_attribute.datacontenttype")
        }
        var version: Int64?
        if let value = envelope.dossierversion {
            guard let number = Self.integer(value), number >= 1 else {
                throw violation("invalid_attribute.dossierversion")
            }
            version = number
        } else if type.requiresDossierVersion {
            throw violation("missing_attribute.dossierversion")
        }
        guard case .string(let producerText) = envelope.produceragency, let producer = try? AgencyID(producerText)
        else {
            throw violation("invalid_attribute.produceragency")
        }
        let correlationID = try envelope.correlationid.map { value throws(EventRejection) in
            try text(value, maxLength: 128, minLength: 1, reason: "invalid_attribute.correlationid")
        }
        guard let dataValue = envelope.data, case .object = dataValue else { throw violation("invalid_attribute.data") }
        let data = try decodeData(dataValue, type: type)
        return InboundEvent(
            id: id, source: source, type: type, time: time, subject: subject, dossierVersion: version,
            producerAgency: producer, correlationID: correlationID, data: data)
    }

    private func decodeData(_ data: JSONValue, type: InboundEventType) throws(EventRejection) -> InboundEventData {
        let fields = DataFields(value: data)
        switch type {
        case .submitted, .received:
            try fields.allow(["procedure", "commune", "channel", "returnsByPost", "applicant"])
            try fields.require(["procedure", "commune", "channel", "applicant"])
            guard case .string(let procedureText) = fields["procedure"],
                let procedure = try? ProcedureCode(procedureText)
            else {
                throw violation("invalid_data_field.procedure")
            }
            guard case .string(let communeText) = fields["commune"], let commune = try? CommuneCode(communeText) else {
                throw violation("invalid_data_field.commune")
            }
            guard case .string(let channelText) = fields["channel"],
                let channel = SubmissionChannel(rawValue: channelText)
            else {
                throw violation("invalid_data_field.channel")
            }
            var returnsByPost = false
            if let value = fields["returnsByPost"] {
                guard case .bool(let flag) = value else { throw violation("invalid_data_field.returnsByPost") }
                returnsByPost = flag
            }
            guard case .object(let applicantMembers) = fields["applicant"]! else {
                throw violation("invalid_data_field.applicant")
            }
            for member in applicantMembers where member.key != "name" && member.key != "citizenId" {
                throw violation("unknown_data_field.applicant.\(member.key)")
            }
            let applicant = fields["applicant"]!
            guard let nameValue = applicant["name"] else { throw violation("missing_data_field.applicant.name") }
            let name = try text(nameValue, maxLength: 256, minLength: 1, reason: "invalid_data_field.applicant.name")
            var citizenID: CitizenID?
            if let value = applicant["citizenId"] {
                guard case .string(let digits) = value, digits.utf8.count == 12, let parsed = try? CitizenID(digits)
                else {
                    throw violation("invalid_data_field.applicant.citizenId")
                }
                citizenID = parsed
            }
            return .opening(
                DossierOpening(
                    procedure: procedure, commune: commune, channel: channel, returnsByPost: returnsByPost,
                    applicantName: name, applicantCitizenID: citizenID))
        case .statusChanged:
            try fields.allow(["status", "reason", "recallReason"])
            try fields.require(["status"])
            guard let code = fields["status"].flatMap(Self.integer), (3...10).contains(code),
                let status = DossierStatus(rawValue: Int(code))
            else { throw violation("invalid_data_field.status") }
            return .statusChanged(
                status: status, reason: try fields.optionalText("reason"),
                recallReason: try fields.optionalText("recallReason"))
        case .transferred:
            try fields.allow(["toUnit", "reason"])
            try fields.require(["toUnit"])
            guard case .string(let unitText) = fields["toUnit"], let unit = try? AgencyID(unitText) else {
                throw violation("invalid_data_field.toUnit")
            }
            return .transferred(to: unit, reason: try fields.optionalText("reason"))
        case .stepChanged:
            try fields.allow(["step"])
            try fields.require(["step"])
            guard let step = fields["step"].flatMap(Self.integer), (0...50).contains(step) else {
                throw violation("invalid_data_field.step")
            }
            return .stepChanged(step: Int(step))
        case .dueDateReset:
            try fields.allow(["newDueAt", "reason"])
            try fields.require(["newDueAt", "reason"])
            guard case .string(let dueText) = fields["newDueAt"], let due = Self.timestamp(dueText) else {
                throw violation("invalid_data_field.newDueAt")
            }
            return .dueDateReset(newDueAt: due, reason: try fields.optionalText("reason") ?? "")
        case .supplementSubmitted:
            try fields.allow(["note"])
            return .supplementSubmitted(note: try fields.optionalText("note"))
        case .paymentConfirmed:
            try fields.allow(["amountVnd"])
            try fields.require(["amountVnd"])
            guard let amount = fields["amountVnd"].flatMap(Self.integer), amount >= 0 else {
                throw violation("invalid_data_field.amountVnd")
            }
            return .paymentConfirmed(amountVND: amount)
        case .resultAttached:
            try fields.allow(["documentId"])
            try fields.require(["documentId"])
            let document = try text(
                fields["documentId"]!, maxLength: 128, minLength: 1, reason: "invalid_data_field.documentId")
            return .resultAttached(documentID: document)
        case .portalSyncAcknowledged:
            try fields.allow(["version"])
            try fields.require(["version"])
            guard let version = fields["version"].flatMap(Self.integer), version >= 1 else {
                throw violation("invalid_data_field.version")
            }
            return .portalSyncAcknowledged(version: version)
        case .portalSyncFailed:
            try fields.allow(["reason"])
            try fields.require(["reason"])
            return .portalSyncFailed(reason: try fields.optionalText("reason") ?? "")
        }
    }

    /// The envelope's attributes, gathered in one pass over the members (a lookup per attribute searched the
    /// members again, comparing keys, and checking each key against a set hashed it).
    private struct Envelope {
        var specversion, id, source, type, time, subject, datacontenttype, dossierversion, produceragency,
            correlationid, data: JSONValue?

        /// - Throws: `unknown_attribute.…` for the first member that is not an attribute, then
        ///   `missing_attribute.…` for the first required one missing, in the contract's order.
        init(_ members: [(key: String, value: JSONValue)]) throws(EventRejection) {
            for (key, value) in members {
                switch key {
                case "specversion": specversion = value
                case "id": id = value
                case "source": source = value
                case "type": type = value
                case "time": time = value
                case "subject": subject = value
                case "datacontenttype": datacontenttype = value
                case "dossierversion": dossierversion = value
                case "produceragency": produceragency = value
                case "correlationid": correlationid = value
                case "data": data = value
                default: throw violation("unknown_attribute.\(key)")
                }
            }
            try Self.require(specversion, "specversion")
            try Self.require(id, "id")
            try Self.require(source, "source")
            try Self.require(type, "type")
            try Self.require(time, "time")
            try Self.require(subject, "subject")
            try Self.require(produceragency, "produceragency")
            try Self.require(data, "data")
        }

        private static func require(_ value: JSONValue?, _ name: String) throws(EventRejection) {
            guard value != nil else { throw violation("missing_attribute.\(name)") }
        }
    }

    /// The members of a `data` object, with the checks every type shares.
    private struct DataFields {
        let value: JSONValue

        subscript(key: String) -> JSONValue? { value[key] }

        /// - Parameter names: a handful, searched in order (a set literal was built and hashed per event).
        func allow(_ names: [String]) throws(EventRejection) {
            guard case .object(let members) = value else { return }
            for member in members where !names.contains(member.key) {
                throw violation("unknown_data_field.\(member.key)")
            }
        }

        func require(_ names: [String]) throws(EventRejection) {
            for name in names where value[name] == nil { throw violation("missing_data_field.\(name)") }
        }

        func optionalText(_ name: String) throws(EventRejection) -> String? {
            try value[name].map { field throws(EventRejection) in
                try text(field, maxLength: 1024, minLength: 0, reason: "invalid_data_field.\(name)")
            }
        }
    }

    /// An RFC 3339 timestamp with seconds and an explicit offset.
    static func timestamp(_ text: String) -> Date? {
        // In place: an array of the bytes was an allocation per event.
        text.utf8.withContiguousStorageIfAvailable { timestamp(utf8: $0) } ?? timestamp(utf8: Array(text.utf8))
    }

    /// - Parameter bytes: indexed from 0.
    private static func timestamp<Bytes: RandomAccessCollection<UInt8>>(utf8 bytes: Bytes) -> Date?
    where Bytes.Index == Int {
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A,
            bytes[16] == 0x3A,
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19),
            let date = CivilDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 0x2E {
            var scale = 0.1
            index += 1
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]), index - start < 9 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        if bytes[index] == 0x5A {
            index += 1
        } else {
            guard bytes[index] == 0x2B || bytes[index] == 0x2D, index + 6 == bytes.count, bytes[index + 3] == 0x3A,
                let hours = digits((index + 1)..<(index + 3)), let minutes = digits((index + 4)..<(index + 6)),
                hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 0x2D ? -1 : 1)
            index += 6
        }
        guard index == bytes.count else { return nil }
        let seconds = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// An integer JSON number (no fraction or exponent).
    static func integer(_ value: JSONValue) -> Int64? {
        guard case .number(let text) = value else { return nil }
        return Int64(text)
    }
}

private func violation(_ reason: String) -> EventRejection {
    EventRejection(errorClass: .schemaViolation, reason: reason)
}

/// A text field: a string within the length bounds (in Unicode scalars) with no control or bidi characters,
/// returned NFC-normalised.
private func text(_ value: JSONValue?, maxLength: Int, minLength: Int, reason: String) throws(EventRejection) -> String
{
    guard case .string(let raw) = value, let normalized = try? NormalizedText(raw) else { throw violation(reason) }
    let length = raw.unicodeScalars.count
    guard length >= minLength, length <= maxLength else { throw violation(reason) }
    return normalized.value
}
