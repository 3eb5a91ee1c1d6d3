import Foundation
import JunctionCore

/// A job as it is stored in Redis and in the dead letters: everything needed to run it again and
/// everything that happened to it so far.
///
/// ```json
/// {"attempt":2,"connection":null,"dedupe_key":null,"enqueued_at":"2026-11-21T17:01:43.123456Z",
///  "errors":[{"at":"…","attempt":1,"class":"retryable","message":"connection refused"}],
///  "id":"01J…","max_attempts":3,"payload":{"sleep_ms":5},"priority":"normal","provider":null,
///  "tenant":null,"trace_id":"…","traceparent":null,"type":"system.noop"}
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
    /// The W3C `traceparent` of the span that enqueued the job, when spans are exported
    /// (``Traces``): the job's span continues that trace. Null otherwise.
    public var traceparent: String?
    public var dedupeKey: String?
    /// One entry per failed attempt, oldest first.
    public var errors: [JobErrorRecord]

    public init(
        id: String, type: String, priority: JobPriority, tenant: String? = nil, provider: String? = nil,
        connection: String? = nil, payload: JSONValue = .object([:]), attempt: Int = 1, maxAttempts: Int,
        enqueuedAt: Date = Date(), traceID: String, traceparent: String? = nil, dedupeKey: String? = nil, errors: [JobErrorRecord] = []
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
        self.traceparent = traceparent
        self.dedupeKey = dedupeKey
        self.errors = errors
    }

    /// The envelope as stored: compact JSON, keys in alphabetical order, every field present
    /// (absent optionals as null), so dead letters read the same whatever wrote them.
    public func encoded() -> String {
        String(decoding: encodedBytes(), as: UTF8.self)
    }

    /// ``encoded()`` as UTF-8 bytes, written without intermediate strings. `payloadJSON`, when
    /// given, is written as the payload instead of `payload` (see ``JobRequest/payloadJSON``).
    public func encodedBytes(payloadJSON: [UInt8]? = nil) -> [UInt8] {
        var out = JSONBytes(capacity: 320 + (payloadJSON?.count ?? 0))
        out.raw("{\"attempt\":")
        out.int(attempt)
        out.raw(",\"connection\":")
        out.string(connection)
        out.raw(",\"dedupe_key\":")
        out.string(dedupeKey)
        out.raw(",\"enqueued_at\":")
        out.string(Timestamp.format(enqueuedAt))
        out.raw(",\"errors\":[")
        for (index, error) in errors.enumerated() {
            if index > 0 { out.raw(",") }
            out.raw("{\"at\":")
            out.string(Timestamp.format(error.at))
            out.raw(",\"attempt\":")
            out.int(error.attempt)
            out.raw(",\"class\":")
            out.string(error.errorClass.name)
            out.raw(",\"message\":")
            out.string(error.message)
            out.raw("}")
        }
        out.raw("],\"id\":")
        out.string(id)
        out.raw(",\"max_attempts\":")
        out.int(maxAttempts)
        out.raw(",\"payload\":")
        if let payloadJSON {
            out.raw(payloadJSON)
        } else {
            out.raw(payload.serialized)
        }
        out.raw(",\"priority\":")
        out.string(priority.rawValue)
        out.raw(",\"provider\":")
        out.string(provider)
        out.raw(",\"tenant\":")
        out.string(tenant)
        out.raw(",\"trace_id\":")
        out.string(traceID)
        out.raw(",\"traceparent\":")
        out.string(traceparent)
        out.raw(",\"type\":")
        out.string(type)
        out.raw("}")
        return out.bytes
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
                    errorClass: JobErrorClass(name: record["class"]?.stringValue ?? ""), message: record["message"]?.stringValue ?? ""))
            }
        }
        return JobEnvelope(
            id: try string("id"), type: try string("type"), priority: priority, tenant: try optionalString("tenant"),
            provider: try optionalString("provider"), connection: try optionalString("connection"), payload: fields["payload"] ?? .null,
            attempt: try integer("attempt", in: fields), maxAttempts: try integer("max_attempts", in: fields),
            enqueuedAt: try date("enqueued_at", in: fields), traceID: try string("trace_id"), traceparent: try optionalString("traceparent"), dedupeKey: try optionalString("dedupe_key"),
            errors: errors)
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
    public var errorClass: JobErrorClass
    public var message: String

    public init(at: Date, attempt: Int, errorClass: JobErrorClass, message: String) {
        self.at = at
        self.attempt = attempt
        self.errorClass = errorClass
        self.message = message
    }
}

/// Why an attempt failed, as its error record stores it (the `class` of each entry of an
/// envelope's `errors`, which on-call reads in the dead letters). It says what could be done.
public enum JobErrorClass: Sendable, Equatable, CustomStringConvertible {
    /// Worth trying again (network, timeout, 5xx, a lock busy too long): retried within the
    /// attempts allowed.
    case retryable
    /// Will never succeed as it is (bad payload, a 4xx): dead-lettered at once.
    case permanent
    /// The provider refused the connection's credentials (401 or 403): dead-lettered at once,
    /// and the connection needs the tenant to authorise it again.
    case unauthorized
    /// No handler runs this job type in the worker that fetched it.
    case noHandler
    /// Its lease expired too often (the worker running it died or hung each time): a poison pill.
    case leaseExpired
    /// A class this version does not know (written by another one), kept as stored.
    case other(String)

    /// The name stored in the envelope: `retryable`, `permanent`, `unauthorized`, `no_handler`,
    /// `lease_expired`.
    public var name: String {
        switch self {
        case .retryable: "retryable"
        case .permanent: "permanent"
        case .unauthorized: "unauthorized"
        case .noHandler: "no_handler"
        case .leaseExpired: "lease_expired"
        case .other(let name): name
        }
    }

    public init(name: String) {
        self = switch name {
        case "retryable": .retryable
        case "permanent": .permanent
        case "unauthorized": .unauthorized
        case "no_handler": .noHandler
        case "lease_expired": .leaseExpired
        default: .other(name)
        }
    }

    public var description: String { name }
}
