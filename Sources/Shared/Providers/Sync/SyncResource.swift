import Foundation
import JunctionCore

/// One kind of object a provider's data is synced as (Stripe customers, QuickBooks invoices): how
/// to list it page by page, what identifies an object, and what orders its states. Each
/// provider's live in its folder (`<Provider>Sync.swift`), as its ``Provider/sync``.
public struct SyncResource: Sendable {
    /// The name in jobs, state and records: `customers`, `catalog`, …
    public let name: String
    /// The list call's path under the API base URL; `{account}` stands for the connection's
    /// account id (QuickBooks's realm).
    public let path: String
    public let paging: Paging
    /// Where the object's id is (a top-level field).
    public let idField: String
    /// What orders the object's states, newest largest; nil where the provider gives nothing
    /// (then a changed object always replaces the stored one).
    public let version: VersionField?
    /// Headers the provider wants on every call (QuickBooks's `Accept: application/json`).
    public let headers: [(String, String)]
    /// The type the provider names its objects by in webhooks (Stripe's `object`: `customer`).
    public let objectType: String?
    /// How to ask for what changed since a time (an incremental run); nil: every run walks it all.
    public let changes: ChangeFeed?

    public init(name: String, path: String, paging: Paging, idField: String = "id", version: VersionField? = nil, headers: [(String, String)] = [],
                objectType: String? = nil, changes: ChangeFeed? = nil) {
        self.objectType = objectType
        self.changes = changes
        self.name = name
        self.path = path
        self.paging = paging
        self.idField = idField
        self.version = version
        self.headers = headers
    }

    /// How a list is walked, and where its objects and next cursor are in an answer.
    public enum Paging: Sendable, Equatable {
        /// Stripe: `limit` and `starting_after=<last id>`; `data` and `has_more`.
        case stripe(limit: Int)
        /// Square: `limit` and `cursor`; the objects under `itemsKey`, the next `cursor` beside them.
        case squareCursor(itemsKey: String, limit: Int)
        /// QuickBooks: `SELECT * FROM <entity> STARTPOSITION n MAXRESULTS m`; `QueryResponse.<entity>`.
        case quickBooksQuery(entity: String, limit: Int)
    }

    /// A provider's "what changed since T" call.
    public enum ChangeFeed: Sendable, Equatable {
        /// QuickBooks Change Data Capture: `GET …/cdc?entities=<entity>&changedSince=<time>`, at
        /// most 30 days back and at most 1,000 objects per entity (a full answer may have left
        /// some out).
        case quickBooksCDC(entity: String)

        /// How far back the feed reaches.
        public var lookback: Duration {
            switch self {
            case .quickBooksCDC: .seconds(30 * 86_400)
            }
        }

        /// The most objects one answer holds; an answer this full may be missing some.
        public var capacity: Int {
            switch self {
            case .quickBooksCDC: 1000
            }
        }

        /// The call's path and query under the API base URL.
        public func path(account: String?, since: Date) -> String {
            switch self {
            case .quickBooksCDC(let entity):
                "/v3/company/\(account ?? "")/cdc?entities=\(entity)&changedSince=" + SyncResource.escape(ISO8601DateFormatter().string(from: since))
            }
        }

        /// The changed objects in an answer.
        public func parse(_ body: [UInt8]) throws(InvalidValue) -> [JSONValue] {
            switch self {
            case .quickBooksCDC(let entity):
                guard case .object(let object)? = try? JSONValue(parsing: body), let responses = object["CDCResponse"]?.arrayValue?.first?["QueryResponse"]?.arrayValue else {
                    throw InvalidValue("a QuickBooks CDC answer has CDCResponse[0].QueryResponse")
                }
                return responses.compactMap { $0[entity]?.arrayValue }.flatMap { $0 }
            }
        }
    }

    /// Where an object's version is, and what kind of value it is.
    public enum VersionField: Sendable, Equatable {
        /// An integer (or a string of digits) at this path: Square's `version`, QuickBooks's `SyncToken`.
        case integer([String])
        /// An RFC 3339 time at this path, compared in milliseconds: Square's `updated_at`.
        case timestamp([String])
    }

    /// One page: its objects and the cursor of the next page (nil at the end).
    public struct Page: Sendable {
        public let objects: [JSONValue]
        public let next: String?
    }

    /// The path and query of the page after `cursor` (nil: the first page).
    public func pagePath(cursor: String?, account: String?) -> String {
        let base = path.replacingOccurrences(of: "{account}", with: account ?? "")
        switch paging {
        case .stripe(let limit):
            return base + "?limit=\(limit)" + (cursor.map { "&starting_after=\(Self.escape($0))" } ?? "")
        case .squareCursor(_, let limit):
            return base + "?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? "")
        case .quickBooksQuery(let entity, let limit):
            let start = cursor.flatMap(Int.init) ?? 1
            return base + "?query=" + Self.escape("SELECT * FROM \(entity) STARTPOSITION \(start) MAXRESULTS \(limit)")
        }
    }

    /// Reads an answer to ``pagePath(cursor:account:)``.
    public func parse(_ body: [UInt8], cursor: String?) throws(InvalidValue) -> Page {
        guard case .object(let object)? = try? JSONValue(parsing: body) else { throw InvalidValue("the list answer is not a JSON object") }
        switch paging {
        case .stripe:
            guard let data = object["data"]?.arrayValue else { throw InvalidValue("a Stripe list has data") }
            let more = object["has_more"]?.boolValue ?? false
            return Page(objects: data, next: more ? data.last.flatMap { id(of: $0) } : nil)
        case .squareCursor(let key, _):
            let items = object[key]?.arrayValue ?? []
            return Page(objects: items, next: object["cursor"]?.stringValue)
        case .quickBooksQuery(let entity, let limit):
            guard let response = object["QueryResponse"] else { throw InvalidValue("a QuickBooks query answer has QueryResponse") }
            let items = response[entity]?.arrayValue ?? []
            let start = cursor.flatMap(Int.init) ?? 1
            return Page(objects: items, next: items.count == limit ? String(start + items.count) : nil)
        }
    }

    /// The object's id, as text.
    public func id(of object: JSONValue) -> String? {
        object[idField]?.stringValue ?? object[idField]?.intValue.map(String.init)
    }

    /// The object's version (see ``VersionField``), or nil.
    public func version(of object: JSONValue) -> Int64? {
        switch version {
        case .integer(let path)?:
            let value = Self.value(object, path)
            return value?.intValue ?? value?.stringValue.flatMap { Int64($0) }
        case .timestamp(let path)?:
            return Self.value(object, path)?.stringValue.flatMap(Timestamp.parse).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        case nil:
            return nil
        }
    }

    static func value(_ object: JSONValue, _ path: [String]) -> JSONValue? {
        path.reduce(Optional(object)) { $0?[$1] }
    }

    /// RFC 3986 unreserved characters stay; everything else is percent-encoded (the OAuth flows' rule).
    static func escape(_ text: String) -> String { OAuthRequests.escape(text) }
}

/// One object's change as a webhook tells it: what the record store applies, for the connection
/// whose account it names.
public struct SyncChange: Sendable, Equatable {
    public let resource: String
    public let externalID: String
    /// The whole object, where the event carries it; nil for a delete.
    public let object: JSONValue?
    public let deleted: Bool
    /// Orders this change against others of the object (the event's time in ms).
    public let version: Int64?
    /// The provider account the event belongs to (a Stripe Connect event's `account`).
    public let account: String?

    public init(resource: String, externalID: String, object: JSONValue?, deleted: Bool, version: Int64?, account: String?) {
        self.resource = resource
        self.externalID = externalID
        self.object = object
        self.deleted = deleted
        self.version = version
        self.account = account
    }
}
