import Foundation

/// A job as it is stored in Redis and in the dead letters: everything needed to run it again and
/// everything that happened to it so far.
///
/// ```json
/// {"attempt":2,"connection":null,"dedupe_key":null,"enqueued_at":"2026-11-21T17:01:43.123456Z",
///  "errors":[{"at":"…","attempt":1,"class":"retryable","message":"connection refused"}],
///  "id":"01J…","max_attempts":3,"payload":{"sleep_ms":5},"priority":"normal","provider":null,
///  "tenant":null,"trace_id":"…","type":"system.noop"}
/// ```
public struct JobEnvelope: Sendable, Equatable, Codable {
    public var id: String
    public var type: String
    public var priority: JobPriority
    public var tenant: String?
    public var provider: String?
    public var connection: String?
    public var payload: JSONValue
    /// The attempt this run is (1 for the first).
    public var attempt: Int
    /// Attempts allowed before the job goes to the dead letters.
    public var maxAttempts: Int
    public var enqueuedAt: Date
    public var traceID: String
    public var dedupeKey: String?
    /// One entry per failed attempt, oldest first.
    public var errors: [JobErrorRecord]

    public init(
        id: String, type: String, priority: JobPriority, tenant: String? = nil, provider: String? = nil,
        connection: String? = nil, payload: JSONValue = .object([:]), attempt: Int = 1, maxAttempts: Int,
        enqueuedAt: Date = Date(), traceID: String, dedupeKey: String? = nil, errors: [JobErrorRecord] = []
    ) {
        self.id = id
        self.type = type
        self.priority = priority
        self.tenant = tenant
        self.provider = provider
        self.connection = connection
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.enqueuedAt = enqueuedAt
        self.traceID = traceID
        self.dedupeKey = dedupeKey
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey {
        case id, type, priority, tenant, provider, connection, payload, attempt, errors
        case maxAttempts = "max_attempts"
        case enqueuedAt = "enqueued_at"
        case traceID = "trace_id"
        case dedupeKey = "dedupe_key"
    }

    public func encode(to encoder: any Encoder) throws {
        // Explicit so that absent optionals are written as null: every envelope has every field,
        // which keeps the dead letters easy to read and to query with jq.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(priority, forKey: .priority)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(provider, forKey: .provider)
        try container.encode(connection, forKey: .connection)
        try container.encode(payload, forKey: .payload)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(maxAttempts, forKey: .maxAttempts)
        try container.encode(enqueuedAt, forKey: .enqueuedAt)
        try container.encode(traceID, forKey: .traceID)
        try container.encode(dedupeKey, forKey: .dedupeKey)
        try container.encode(errors, forKey: .errors)
    }

    /// The envelope as stored: compact JSON with sorted keys.
    public func encoded() throws -> String {
        String(decoding: try Self.encoder.encode(self), as: UTF8.self)
    }

    /// Reads a stored envelope.
    public static func decode(_ text: String) throws -> JobEnvelope {
        try decoder.decode(JobEnvelope.self, from: Data(text.utf8))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return decoder
    }
}

/// One failed attempt, as the dead letters show it.
public struct JobErrorRecord: Sendable, Equatable, Codable {
    public var at: Date
    public var attempt: Int
    /// `retryable`, `permanent`, `lease_expired` or `no_handler`.
    public var errorClass: String
    public var message: String

    public init(at: Date, attempt: Int, errorClass: String, message: String) {
        self.at = at
        self.attempt = attempt
        self.errorClass = errorClass
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case at, attempt, message
        case errorClass = "class"
    }
}
