/// A PostgreSQL type by its OID.
public struct PostgresDataType: Hashable, Sendable, CustomStringConvertible {
    /// The type's OID.
    public let oid: UInt32

    /// Creates a type from its OID.
    public init(oid: UInt32) { self.oid = oid }

    /// The type's name with its OID ("int4 (oid 23)") for the types this module names, otherwise "oid 23".
    public var description: String {
        guard let name else { return "oid \(oid)" }
        return "\(name) (oid \(oid))"
    }

    /// The type's short name (`int8`, and `int8[]` for an array of it), if it is one of the types below.
    private var name: String? {
        switch self {
        case .bool: "bool"
        case .bytea: "bytea"
        case .name: "name"
        case .int8: "int8"
        case .int2: "int2"
        case .int4: "int4"
        case .text: "text"
        case .float8: "float8"
        case .float8Array: "float8[]"
        case .json: "json"
        case .bpchar: "bpchar"
        case .varchar: "varchar"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .uuid: "uuid"
        case .jsonb: "jsonb"
        case .boolArray: "bool[]"
        case .byteaArray: "bytea[]"
        case .int4Array: "int4[]"
        case .textArray: "text[]"
        case .int8Array: "int8[]"
        case .timestamptzArray: "timestamptz[]"
        case .uuidArray: "uuid[]"
        case .jsonbArray: "jsonb[]"
        default: nil
        }
    }

    public static let bool = PostgresDataType(oid: 16)
    public static let bytea = PostgresDataType(oid: 17)
    public static let name = PostgresDataType(oid: 19)
    public static let int8 = PostgresDataType(oid: 20)
    public static let int2 = PostgresDataType(oid: 21)
    public static let int4 = PostgresDataType(oid: 23)
    public static let text = PostgresDataType(oid: 25)
    public static let float8 = PostgresDataType(oid: 701)
    public static let float8Array = PostgresDataType(oid: 1022)
    public static let json = PostgresDataType(oid: 114)
    public static let bpchar = PostgresDataType(oid: 1042)
    public static let varchar = PostgresDataType(oid: 1043)
    public static let timestamp = PostgresDataType(oid: 1114)
    public static let timestamptz = PostgresDataType(oid: 1184)
    public static let uuid = PostgresDataType(oid: 2950)
    public static let jsonb = PostgresDataType(oid: 3802)
    public static let boolArray = PostgresDataType(oid: 1000)
    public static let byteaArray = PostgresDataType(oid: 1001)
    public static let int4Array = PostgresDataType(oid: 1007)
    public static let textArray = PostgresDataType(oid: 1009)
    public static let int8Array = PostgresDataType(oid: 1016)
    public static let timestamptzArray = PostgresDataType(oid: 1185)
    public static let uuidArray = PostgresDataType(oid: 2951)
    public static let jsonbArray = PostgresDataType(oid: 3807)
}
