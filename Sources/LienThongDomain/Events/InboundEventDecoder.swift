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
        let document: JSONDocument
        do {
            document = try JSONReader.parse(bytes, limits: limits)
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
        guard document.kind(of: document.root) == .object else { throw violation("not_an_object") }
        let envelope = try Envelope(document)
        guard document.string(envelope.specversion, is: "1.0") else { throw violation("invalid_attribute.specversion") }
        let id = try text(document, envelope.id, maxLength: 128, minLength: 1, reason: "invalid_attribute.id")
        guard let sourceText = document.utf8(envelope.source), sourceText.starts(with: Self.agencyPath.utf8),
            let source = try? AgencyID(
                String(decoding: sourceText.dropFirst(Self.agencyPath.utf8.count), as: UTF8.self))
        else { throw violation("invalid_attribute.source") }
        guard document.kind(of: envelope.type) == .string else { throw violation("invalid_attribute.type") }
        guard let type = Self.eventType(envelope.type, in: document) else { throw violation("unknown_type") }
        guard let timeText = document.utf8(envelope.time), let time = Self.timestamp(utf8: timeText) else {
            throw violation("invalid_attribute.time")
        }
        guard let subjectText = document.string(envelope.subject), let subject = try? DossierCode(subjectText) else {
            throw violation("invalid_attribute.subject")
        }
        if let contentType = envelope.datacontenttype, !document.string(contentType, is: "application/json") {
            throw violation("invalid_attribute.datacontenttype")
        }
        var version: Int64?
        if let value = envelope.dossierversion {
            guard let number = document.integer(value), number >= 1 else {
                throw violation("invalid_attribute.dossierversion")
            }
            version = number
        } else if type.requiresDossierVersion {
            throw violation("missing_attribute.dossierversion")
        }
        guard let producerText = document.string(envelope.produceragency),
            let producer = try? AgencyID(producerText)
        else {
            throw violation("invalid_attribute.produceragency")
        }
        let correlationID = try envelope.correlationid.map { value throws(EventRejection) in
            try text(document, value, maxLength: 128, minLength: 1, reason: "invalid_attribute.correlationid")
        }
        guard document.kind(of: envelope.data) == .object else { throw violation("invalid_attribute.data") }
        let data = try decodeData(DataFields(document: document, object: envelope.data), type: type)
        return InboundEvent(
            id: id, source: source, type: type, time: time, subject: subject, dossierVersion: version,
            producerAgency: producer, correlationID: correlationID, data: data)
    }

    private static let agencyPath = "/agencies/"

    /// The type a string names, compared in place (no `String` made of it).
    private static func eventType(_ value: JSONDocument.Value, in document: JSONDocument) -> InboundEventType? {
        for type in InboundEventType.allCases where document.string(value, is: type.rawValue) { return type }
        return nil
    }

    private func decodeData(_ fields: DataFields, type: InboundEventType) throws(EventRejection) -> InboundEventData {
        let document = fields.document
        switch type {
        case .submitted, .received:
            try fields.allow(["procedure", "commune", "channel", "returnsByPost", "applicant"])
            try fields.require(["procedure", "commune", "channel", "applicant"])
            guard let procedureText = fields.string("procedure"), let procedure = try? ProcedureCode(procedureText)
            else {
                throw violation("invalid_data_field.procedure")
            }
            guard let communeText = fields.string("commune"), let commune = try? CommuneCode(communeText) else {
                throw violation("invalid_data_field.commune")
            }
            guard let channelText = fields.string("channel"), let channel = SubmissionChannel(rawValue: channelText)
            else {
                throw violation("invalid_data_field.channel")
            }
            var returnsByPost = false
            if let value = fields["returnsByPost"] {
                guard let flag = document.bool(value) else { throw violation("invalid_data_field.returnsByPost") }
                returnsByPost = flag
            }
            let applicant = fields["applicant"]!
            guard document.kind(of: applicant) == .object else { throw violation("invalid_data_field.applicant") }
            for member in document.members(of: applicant)
            where !document.string(member.key, is: "name") && !document.string(member.key, is: "citizenId") {
                throw violation("unknown_data_field.applicant.\(document.string(member.key)!)")
            }
            guard let nameValue = document.member("name", of: applicant) else {
                throw violation("missing_data_field.applicant.name")
            }
            let name = try text(
                document, nameValue, maxLength: 256, minLength: 1, reason: "invalid_data_field.applicant.name")
            var citizenID: CitizenID?
            if let value = document.member("citizenId", of: applicant) {
                guard let digits = document.string(value), digits.utf8.count == 12, let parsed = try? CitizenID(digits)
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
            guard let code = fields.integer("status"), (3...10).contains(code),
                let status = DossierStatus(rawValue: Int(code))
            else { throw violation("invalid_data_field.status") }
            return .statusChanged(
                status: status, reason: try fields.optionalText("reason"),
                recallReason: try fields.optionalText("recallReason"))
        case .transferred:
            try fields.allow(["toUnit", "reason"])
            try fields.require(["toUnit"])
            guard let unitText = fields.string("toUnit"), let unit = try? AgencyID(unitText) else {
                throw violation("invalid_data_field.toUnit")
            }
            return .transferred(to: unit, reason: try fields.optionalText("reason"))
        case .stepChanged:
            try fields.allow(["step"])
            try fields.require(["step"])
            guard let step = fields.integer("step"), (0...50).contains(step) else {
                throw violation("invalid_data_field.step")
            }
            return .stepChanged(step: Int(step))
        case .dueDateReset:
            try fields.allow(["newDueAt", "reason"])
            try fields.require(["newDueAt", "reason"])
            guard let dueValue = fields["newDueAt"], let dueText = document.utf8(dueValue),
                let due = Self.timestamp(utf8: dueText)
            else {
                throw violation("invalid_data_field.newDueAt")
            }
            return .dueDateReset(newDueAt: due, reason: try fields.optionalText("reason") ?? "")
        case .supplementSubmitted:
            try fields.allow(["note"])
            return .supplementSubmitted(note: try fields.optionalText("note"))
        case .paymentConfirmed:
            try fields.allow(["amountVnd"])
            try fields.require(["amountVnd"])
            guard let amount = fields.integer("amountVnd"), amount >= 0 else {
                throw violation("invalid_data_field.amountVnd")
            }
            return .paymentConfirmed(amountVND: amount)
        case .resultAttached:
            try fields.allow(["documentId"])
            try fields.require(["documentId"])
            let documentID = try text(
                document, fields["documentId"]!, maxLength: 128, minLength: 1, reason: "invalid_data_field.documentId")
            return .resultAttached(documentID: documentID)
        case .portalSyncAcknowledged:
            try fields.allow(["version"])
            try fields.require(["version"])
            guard let version = fields.integer("version"), version >= 1 else {
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
    /// members again, comparing keys). The required ones are non-optional once gathered.
    private struct Envelope {
        let specversion, id, source, type, time, subject, produceragency, data: JSONDocument.Value
        let datacontenttype, dossierversion, correlationid: JSONDocument.Value?

        /// - Throws: `unknown_attribute.…` for the first member that is not an attribute, then
        ///   `missing_attribute.…` for the first required one missing, in the contract's order.
        init(_ document: JSONDocument) throws(EventRejection) {
            var specversion, id, source, type, time, subject, datacontenttype, dossierversion, produceragency,
                correlationid, data: JSONDocument.Value?
            for (key, value) in document.members(of: document.root) {
                // Attribute names are at most 15 bytes: the key's `String` is stored inline, not allocated.
                switch document.string(key)! {
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
                case let unknown: throw violation("unknown_attribute.\(unknown)")
                }
            }
            self.specversion = try Self.require(specversion, "specversion")
            self.id = try Self.require(id, "id")
            self.source = try Self.require(source, "source")
            self.type = try Self.require(type, "type")
            self.time = try Self.require(time, "time")
            self.subject = try Self.require(subject, "subject")
            self.produceragency = try Self.require(produceragency, "produceragency")
            self.data = try Self.require(data, "data")
            self.datacontenttype = datacontenttype
            self.dossierversion = dossierversion
            self.correlationid = correlationid
        }

        private static func require(
            _ value: JSONDocument.Value?, _ name: String
        ) throws(EventRejection) -> JSONDocument.Value {
            guard let value else { throw violation("missing_attribute.\(name)") }
            return value
        }
    }

    /// The members of a `data` object, with the checks every type shares.
    private struct DataFields {
        let document: JSONDocument
        let object: JSONDocument.Value

        subscript(key: String) -> JSONDocument.Value? { document.member(key, of: object) }

        func string(_ key: String) -> String? {
            guard let value = self[key] else { return nil }
            return document.string(value)
        }

        func integer(_ key: String) -> Int64? {
            guard let value = self[key] else { return nil }
            return document.integer(value)
        }

        /// - Parameter names: a handful, searched in order (a set literal was built and hashed per event).
        func allow(_ names: [String]) throws(EventRejection) {
            members: for member in document.members(of: object) {
                for name in names where document.string(member.key, is: name) { continue members }
                throw violation("unknown_data_field.\(document.string(member.key)!)")
            }
        }

        func require(_ names: [String]) throws(EventRejection) {
            for name in names where self[name] == nil { throw violation("missing_data_field.\(name)") }
        }

        func optionalText(_ name: String) throws(EventRejection) -> String? {
            try self[name].map { field throws(EventRejection) in
                try text(document, field, maxLength: 1024, minLength: 0, reason: "invalid_data_field.\(name)")
            }
        }
    }

    /// An RFC 3339 timestamp with seconds and an explicit offset, from its UTF-8 text (read in place).
    private static func timestamp(utf8 text: ArraySlice<UInt8>) -> Date? {
        let count = text.count
        func byte(_ offset: Int) -> UInt8 { text[text.startIndex + offset] }
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= count else { return nil }
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(byte(index)) else { return nil }
                value = value * 10 + Int(byte(index) - 0x30)
            }
            return value
        }
        guard count >= 20, byte(4) == 0x2D, byte(7) == 0x2D, byte(10) == 0x54, byte(13) == 0x3A,
            byte(16) == 0x3A,
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19),
            let date = CivilDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index) == 0x2E {
            var scale = 0.1
            index += 1
            let start = index
            while index < count, (0x30...0x39).contains(byte(index)), index - start < 9 {
                fraction += Double(byte(index) - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < count else { return nil }
        var offset = 0
        if byte(index) == 0x5A {
            index += 1
        } else {
            guard byte(index) == 0x2B || byte(index) == 0x2D, index + 6 == count, byte(index + 3) == 0x3A,
                let hours = digits((index + 1)..<(index + 3)), let minutes = digits((index + 4)..<(index + 6)),
                hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (byte(index) == 0x2D ? -1 : 1)
            index += 6
        }
        guard index == count else { return nil }
        let seconds = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

private func violation(_ reason: String) -> EventRejection {
    EventRejection(errorClass: .schemaViolation, reason: reason)
}

/// A text field: a string within the length bounds (in Unicode scalars) with no control or bidi characters,
/// returned NFC-normalised.
private func text(
    _ document: JSONDocument, _ value: JSONDocument.Value?, maxLength: Int, minLength: Int, reason: String
) throws(EventRejection) -> String {
    guard let value, let raw = document.string(value), let normalized = try? NormalizedText(raw) else {
        throw violation(reason)
    }
    let length = raw.unicodeScalars.count
    guard length >= minLength, length <= maxLength else { throw violation(reason) }
    return normalized.value
}
