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
public struct JobEnvelope: Sendable, Equatable {
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

    /// The envelope as stored: compact JSON, keys in alphabetical order, every field present
    /// (absent optionals as null), so dead letters read the same whatever wrote them.
    /// `payloadText`, when given, is written as the payload instead of `payload` (see
    /// ``JobRequest/payloadText``).
    public func encoded(payloadText: String? = nil) -> String {
        var out = ""
        out.reserveCapacity(320 + (payloadText?.utf8.count ?? 0))
        out += "{\"attempt\":"
        out += String(attempt)
        out += ",\"connection\":"
        Self.append(connection, to: &out)
        out += ",\"dedupe_key\":"
        Self.append(dedupeKey, to: &out)
        out += ",\"enqueued_at\":"
        JSONText.appendString(Timestamp.format(enqueuedAt), to: &out)
        out += ",\"errors\":["
        for (index, error) in errors.enumerated() {
            if index > 0 { out += "," }
            out += "{\"at\":"
            JSONText.appendString(Timestamp.format(error.at), to: &out)
            out += ",\"attempt\":"
            out += String(error.attempt)
            out += ",\"class\":"
            JSONText.appendString(error.errorClass, to: &out)
            out += ",\"message\":"
            JSONText.appendString(error.message, to: &out)
            out += "}"
        }
        out += "],\"id\":"
        JSONText.appendString(id, to: &out)
        out += ",\"max_attempts\":"
        out += String(maxAttempts)
        out += ",\"payload\":"
        if let payloadText {
            out += payloadText
        } else {
            payload.write(to: &out)
        }
        out += ",\"priority\":"
        JSONText.appendString(priority.rawValue, to: &out)
        out += ",\"provider\":"
        Self.append(provider, to: &out)
        out += ",\"tenant\":"
        Self.append(tenant, to: &out)
        out += ",\"trace_id\":"
        JSONText.appendString(traceID, to: &out)
        out += ",\"type\":"
        JSONText.appendString(type, to: &out)
        out += "}"
        return out
    }

    /// Reads a stored envelope.
    public static func decode(_ text: String) throws -> JobEnvelope {
        guard case .object(let fields) = try JSONValue(parsing: text) else { throw EnvelopeError("an envelope must be a JSON object") }
        func string(_ key: String) throws -> String {
            guard let value = fields[key]?.stringValue else { throw EnvelopeError("\(key) must be a string") }
            return value
        }
        func optionalString(_ key: String) throws -> String? {
            switch fields[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw EnvelopeError("\(key) must be a string or null")
            }
        }
        func integer(_ key: String, in object: [String: JSONValue]) throws -> Int {
            guard let value = object[key]?.intValue else { throw EnvelopeError("\(key) must be an integer") }
            return Int(value)
        }
        func date(_ key: String, in object: [String: JSONValue]) throws -> Date {
            guard let text = object[key]?.stringValue, let value = Timestamp.parse(text) else { throw EnvelopeError("\(key) must be an ISO 8601 time") }
            return value
        }
        guard let priority = JobPriority(rawValue: try string("priority")) else { throw EnvelopeError("unknown priority") }
        var errors: [JobErrorRecord] = []
        if case .array(let entries)? = fields["errors"] {
            for entry in entries {
                guard case .object(let record) = entry else { throw EnvelopeError("errors must hold objects") }
                errors.append(JobErrorRecord(
                    at: try date("at", in: record), attempt: try integer("attempt", in: record),
                    errorClass: record["class"]?.stringValue ?? "", message: record["message"]?.stringValue ?? ""))
            }
        }
        return JobEnvelope(
            id: try string("id"), type: try string("type"), priority: priority, tenant: try optionalString("tenant"),
            provider: try optionalString("provider"), connection: try optionalString("connection"), payload: fields["payload"] ?? .null,
            attempt: try integer("attempt", in: fields), maxAttempts: try integer("max_attempts", in: fields),
            enqueuedAt: try date("enqueued_at", in: fields), traceID: try string("trace_id"), dedupeKey: try optionalString("dedupe_key"),
            errors: errors)
    }

    private static func append(_ value: String?, to output: inout String) {
        if let value { JSONText.appendString(value, to: &output) } else { output += "null" }
    }
}

/// A stored envelope that is not what Junction writes.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One failed attempt, as the dead letters show it.
public struct JobErrorRecord: Sendable, Equatable {
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
}
