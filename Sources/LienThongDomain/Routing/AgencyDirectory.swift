import Foundation

/// An agency that receives or processes dossiers.
public struct Agency: Sendable, Hashable {
    public let id: AgencyID
    public let name: String
    /// The unit type, matching the catalogue's (`commune_people_committee`, `department_justice`, …).
    public let type: String
    public let province: ProvinceCode
    /// The commune it serves, for commune-level agencies.
    public let commune: CommuneCode?
}

/// The kind of receiving system a routed work item goes to (one topic each).
public enum DestinationClass: String, Sendable, Hashable, CaseIterable {
    /// Commune and ward service points, their police, and the city service centre's branches.
    case commune
    /// City or provincial departments (Sở).
    case department
    /// Vertical and ministry agencies: land registry, tax, social insurance.
    case ministryAgency = "ministry_agency"
}

extension Agency {
    /// Which class of receiving system this agency belongs to, by its unit type.
    public var destinationClass: DestinationClass {
        if type.hasPrefix("commune_") || type.hasPrefix("service_center") { return .commune }
        if type.hasPrefix("department_") { return .department }
        return .ministryAgency
    }
}

/// Agencies by id, and by (province, type, commune) for routing.
public struct AgencyDirectory: Sendable {
    private struct Key: Hashable {
        let province: ProvinceCode
        let type: String
        let commune: CommuneCode?
    }

    /// Every agency by id.
    public let agencies: [AgencyID: Agency]
    private let byRole: [Key: Agency]

    /// Loads one or more agency files (`agencies/*.json`).
    /// - Throws: ``ReferenceDataError`` naming the entry at fault.
    public init(json documents: [String]) throws(ReferenceDataError) {
        struct Document: Decodable { let agencies: [Entry] }
        struct Entry: Decodable {
            let id: String
            let name: String
            let type: String
            let province: String
            let commune: String?
        }
        var agencies: [AgencyID: Agency] = [:]
        var byRole: [Key: Agency] = [:]
        for text in documents {
            let document: Document
            do {
                document = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
            } catch {
                throw ReferenceDataError(source: "agency data", reason: "JSON does not match the agency format")
            }
            for entry in document.agencies {
                guard let id = try? AgencyID(entry.id), let province = try? ProvinceCode(entry.province) else {
                    throw ReferenceDataError(source: "agency data", reason: "\(entry.id): invalid id or province")
                }
                let commune = try entry.commune.map { text throws(ReferenceDataError) in
                    guard let code = try? CommuneCode(text) else {
                        throw ReferenceDataError(source: "agency data", reason: "\(entry.id): invalid commune")
                    }
                    return code
                }
                guard agencies[id] == nil else {
                    throw ReferenceDataError(source: "agency data", reason: "\(entry.id): listed twice")
                }
                let agency = Agency(
                    id: id, name: NormalizedText.nfc(entry.name), type: entry.type, province: province, commune: commune
                )
                agencies[id] = agency
                byRole[Key(province: province, type: entry.type, commune: commune)] = agency
            }
        }
        self.agencies = agencies
        self.byRole = byRole
    }

    /// The agency with `id`.
    public func agency(_ id: AgencyID) -> Agency? {
        agencies[id]
    }

    /// The agency of `type` in `province` (for commune-level types, the one serving `commune`).
    public func agency(type: String, province: ProvinceCode, commune: CommuneCode?) -> Agency? {
        byRole[Key(province: province, type: type, commune: commune)]
            ?? byRole[Key(province: province, type: type, commune: nil)]
    }
}
