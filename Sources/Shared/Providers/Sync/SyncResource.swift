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
    /// Fields whose values are put before the id (`<list>:<member>`), where the provider's id is
    /// unique only within them (a Mailchimp member's id is the same in every list; a Square
    /// inventory count is one per item, location and state).
    public let idScope: [String]
    /// What orders the object's states, newest largest; nil where the provider gives nothing
    /// (then a changed object always replaces the stored one).
    public let version: VersionField?
    /// Headers the provider wants on every call (QuickBooks's `Accept: application/json`).
    public let headers: [(String, String)]
    /// The type the provider names its objects by in webhooks (Stripe's `object`: `customer`).
    public let objectType: String?
    /// How to ask for what changed since a time (an incremental run); nil: every run walks it all.
    public let changes: ChangeFeed?
    /// The slower change feed to walk when ``changes`` cannot answer: its answer was full, or the
    /// last run began beyond its reach (QuickBooks: a query by update time instead of CDC).
    public let fallback: ChangeFeed?

    public init(name: String, path: String, paging: Paging, idField: String = "id", idScope: [String] = [], version: VersionField? = nil, headers: [(String, String)] = [],
                objectType: String? = nil, changes: ChangeFeed? = nil, fallback: ChangeFeed? = nil) {
        self.objectType = objectType
        self.changes = changes
        self.fallback = fallback
        self.name = name
        self.path = path
        self.paging = paging
        self.idField = idField
        self.idScope = idScope
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
        /// Mailchimp: `count` and `offset`; the objects under `itemsKey`.
        case offset(itemsKey: String, count: Int)
        /// Mailchimp's per-list collections: the account's lists first (`/3.0/lists`), then
        /// `path` (with `{list}`) of each list by `count` and `offset`.
        case perList(path: String, itemsKey: String, count: Int)
        /// Square's searches that take a JSON body with `limit` and `cursor` (`POST path`); the
        /// objects under `itemsKey`.
        case squareSearch(itemsKey: String, limit: Int)
        /// Square orders: the account's locations first (`GET /v2/locations`), then
        /// `POST /v2/orders/search` for ten locations at a time, oldest first.
        case squareOrders(limit: Int)
    }

    /// A provider's "what changed since T" call, walked page by page like a list.
    public enum ChangeFeed: Sendable, Equatable {
        /// QuickBooks Change Data Capture: `GET …/cdc?entities=<entity>&changedSince=<time>`, at
        /// most 30 days back and at most 1,000 objects per entity (a full answer may have left
        /// some out); deleted objects come as `{"Id", "status": "Deleted"}`.
        case quickBooksCDC(entity: String)
        /// A QuickBooks query in `Metadata.LastUpdatedTime` order from a time, 1,000 a page, each
        /// page starting at the last one's latest time (or, when a whole page shares one time, at
        /// the next position): no cap and no lookback limit, but no deletes either.
        case quickBooksUpdated(entity: String)
        /// Stripe `GET /v1/events?type=<prefix>.*&created[gte]=<since>`, newest first, 100 a page
        /// with `starting_after`; events are kept 30 days. Each event holds its object whole.
        case stripeEvents(type: String)
        /// Square `POST /v2/customers/search` with `query.filter.updated_at.start_at` (exclusive), 100 a page.
        case squareCustomers
        /// Square `POST /v2/catalog/search` with `begin_time` (exclusive) and deleted objects
        /// (`is_deleted: true`), 1,000 a page.
        case squareCatalog
        /// Square `GET /v2/payments?updated_at_begin_time=…&sort_field=UPDATED_AT&sort_order=ASC`, 100 a page.
        case squarePayments
        /// Mailchimp: the account's lists, then each list's members changed since a time
        /// (`since_last_changed`, in `last_changed` order, 1,000 a page by `offset`), then its
        /// archived members changed since then (deletes).
        case mailchimpMembers
        /// Square orders: the locations, then `POST /v2/orders/search` with
        /// `date_time_filter.updated_at.start_at`, in `UPDATED_AT` order.
        case squareOrders
        /// Square `POST /v2/inventory/counts/batch-retrieve` with `updated_after`.
        case squareInventory

        /// How far back the feed reaches; nil: as far as there is data.
        public var lookback: Duration? {
            switch self {
            case .quickBooksCDC, .stripeEvents: .seconds(30 * 86_400)
            case .quickBooksUpdated, .squareCustomers, .squareCatalog, .squarePayments, .mailchimpMembers, .squareOrders, .squareInventory: nil
            }
        }

        /// The most objects one answer holds when it may have left some out; nil: the feed pages.
        public var capacity: Int? {
            switch self {
            case .quickBooksCDC: 1000
            case .quickBooksUpdated, .stripeEvents, .squareCustomers, .squareCatalog, .squarePayments, .mailchimpMembers, .squareOrders, .squareInventory: nil
            }
        }

        /// Whether its pages run from the newest change to the oldest (Stripe's lists do).
        public var newestFirst: Bool {
            if case .stripeEvents = self { return true }
            return false
        }

        /// Whether `since` is within the feed's reach now (with an hour to spare).
        public func reaches(_ since: Date, now: Date = Date()) -> Bool {
            guard let lookback else { return true }
            return now.timeIntervalSince(since) < lookback / .seconds(1) - 3600
        }

        /// The call for the page after `cursor`: its path and query under the API base URL, and
        /// its JSON body where the provider's search is a POST.
        public func request(account: String?, since: Date, cursor: String?) -> ProviderCall {
            switch self {
            case .quickBooksCDC(let entity):
                return ProviderCall("/v3/company/\(account ?? "")/cdc?entities=\(entity)&changedSince=" + SyncResource.escape(Self.seconds(since)))
            case .quickBooksUpdated(let entity):
                let (from, skip) = Self.timeCursor(cursor, since: since)
                return ProviderCall("/v3/company/\(account ?? "")/query?query=" + SyncResource.escape(
                    "SELECT * FROM \(entity) WHERE Metadata.LastUpdatedTime >= '\(Self.seconds(from))' ORDERBY Metadata.LastUpdatedTime STARTPOSITION \(skip + 1) MAXRESULTS 1000"))
            case .stripeEvents(let type):
                return ProviderCall("/v1/events?limit=100&type=\(SyncResource.escape(type))&" + SyncResource.escape("created[gte]") + "=\(Int64(since.timeIntervalSince1970))"
                    + (cursor.map { "&starting_after=\(SyncResource.escape($0))" } ?? ""))
            case .squareCustomers:
                var body: [String: JSONValue] = ["limit": 100, "query": ["filter": ["updated_at": ["start_at": .string(Timestamp.format(since))]]]]
                if let cursor { body["cursor"] = .string(cursor) }
                return ProviderCall("/v2/customers/search", method: "POST", body: .object(body))
            case .squareCatalog:
                var body: [String: JSONValue] = ["limit": 1000, "begin_time": .string(Timestamp.format(since)), "include_deleted_objects": true]
                if let cursor { body["cursor"] = .string(cursor) }
                return ProviderCall("/v2/catalog/search", method: "POST", body: .object(body))
            case .squareOrders:
                return LocationCursor.request(cursor, limit: 500, filter: Timestamp.format(since))
            case .squareInventory:
                var body: [String: JSONValue] = ["limit": 1000, "updated_after": .string(Timestamp.format(since))]
                if let cursor { body["cursor"] = .string(cursor) }
                return ProviderCall("/v2/inventory/counts/batch-retrieve", method: "POST", body: .object(body))
            case .mailchimpMembers:
                guard let position = ListCursor(cursor), let list = position.list else { return ProviderCall(ListCursor.listsPath) }
                let changed = "since_last_changed=" + SyncResource.escape(Self.seconds(since))
                return ProviderCall("/3.0/lists/\(SyncResource.escape(list))/members?count=1000&offset=\(position.offset)&" + changed
                    + (position.phase == 0 ? "&sort_field=last_changed&sort_dir=ASC" : "&status=archived"))
            case .squarePayments:
                return ProviderCall("/v2/payments?limit=100&sort_field=UPDATED_AT&sort_order=ASC&begin_time=\(SyncResource.squareEpoch)&updated_at_begin_time="
                    + SyncResource.escape(Timestamp.format(since)) + (cursor.map { "&cursor=\(SyncResource.escape($0))" } ?? ""))
            }
        }

        /// RFC 3339 in whole seconds (the precision QuickBooks times have), rounded down.
        static func seconds(_ date: Date) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
        }

        /// `<RFC 3339 time>|<objects of that time already read>`.
        static func timeCursor(_ cursor: String?, since: Date) -> (Date, Int) {
            guard let cursor, let bar = cursor.lastIndex(of: "|"), let time = Timestamp.parse(String(cursor[..<bar])),
                  let skip = Int(cursor[cursor.index(after: bar)...]) else { return (since, 0) }
            return (time, skip)
        }

        /// One answer: the changes it holds for `resource`, oldest first, and the next page's cursor.
        public func parse(_ body: [UInt8], cursor: String?, since: Date, resource: SyncResource) throws(InvalidValue) -> FeedPage {
            guard case .object(let object)? = try? JSONValue(parsing: body) else { throw InvalidValue("the change feed's answer is not a JSON object") }
            switch self {
            case .quickBooksCDC(let entity):
                guard let responses = object["CDCResponse"]?.arrayValue?.first?["QueryResponse"]?.arrayValue else {
                    throw InvalidValue("a QuickBooks CDC answer has CDCResponse[0].QueryResponse")
                }
                let objects = responses.compactMap { $0[entity]?.arrayValue }.flatMap { $0 }
                let changes = objects.compactMap { object -> SyncChange? in
                    guard let id = resource.id(of: object) else { return nil }
                    if object["status"]?.stringValue == "Deleted" {
                        return SyncChange(resource: resource.name, externalID: id, object: nil, deleted: true, version: nil, account: nil)
                    }
                    return SyncChange(resource: resource.name, externalID: id, object: object, deleted: false, version: resource.version(of: object), account: nil)
                }
                return FeedPage(changes: changes, next: nil, truncated: objects.count >= 1000)
            case .quickBooksUpdated(let entity):
                guard let response = object["QueryResponse"] else { throw InvalidValue("a QuickBooks query answer has QueryResponse") }
                let objects = response[entity]?.arrayValue ?? []
                let changes = objects.compactMap { object in
                    resource.id(of: object).map { SyncChange(resource: resource.name, externalID: $0, object: object, deleted: false, version: resource.version(of: object), account: nil) }
                }
                guard objects.count >= 1000 else { return FeedPage(changes: changes, next: nil, truncated: false) }
                let (from, skip) = Self.timeCursor(cursor, since: since)
                guard let last = objects.last.flatMap({ SyncResource.value($0, ["MetaData", "LastUpdatedTime"])?.stringValue }).flatMap(Timestamp.parse) else {
                    throw InvalidValue("a QuickBooks object has MetaData.LastUpdatedTime")
                }
                // The next page starts at the second this one ended in (its objects of that second
                // are read again, and the upsert absorbs them); a page that ends in the second it
                // began in (one second throughout) goes on by position instead.
                let next = last.timeIntervalSince1970.rounded(.down) <= from.timeIntervalSince1970.rounded(.down)
                    ? "\(Self.seconds(from))|\(skip + objects.count)" : "\(Self.seconds(last))|0"
                return FeedPage(changes: changes, next: next, truncated: false)
            case .squareOrders:
                guard let position = LocationCursor(cursor) else { return FeedPage(changes: [], next: LocationCursor.first(object)?.text, truncated: false) }
                let changes = (object["orders"]?.arrayValue ?? []).compactMap { order in
                    resource.id(of: order).map { SyncChange(resource: resource.name, externalID: $0, object: order, deleted: false, version: resource.version(of: order), account: nil) }
                }
                return FeedPage(changes: changes, next: position.next(object["cursor"]?.stringValue)?.text, truncated: false)
            case .squareCustomers, .squareCatalog, .squarePayments, .squareInventory:
                let key = self == .squareCustomers ? "customers" : self == .squareCatalog ? "objects" : self == .squareInventory ? "counts" : "payments"
                let changes = (object[key]?.arrayValue ?? []).compactMap { object -> SyncChange? in
                    guard let id = resource.id(of: object) else { return nil }
                    let deleted = object["is_deleted"]?.boolValue == true
                    return SyncChange(resource: resource.name, externalID: id, object: deleted ? JSONValue?.none : object, deleted: deleted,
                                      version: resource.version(of: object), account: nil)
                }
                return FeedPage(changes: changes, next: object["cursor"]?.stringValue, truncated: false)
            case .mailchimpMembers:
                guard let position = ListCursor(cursor) else { return FeedPage(changes: [], next: ListCursor.first(object)?.text, truncated: false) }
                let items = (object["members"]?.arrayValue ?? []).map { ListCursor.scoped($0, list: position.list) }
                let changes = items.compactMap { member -> SyncChange? in
                    guard let id = resource.id(of: member) else { return nil }
                    let archived = position.phase == 1 || member["status"]?.stringValue == "archived"
                    return SyncChange(resource: resource.name, externalID: id, object: archived ? JSONValue?.none : member, deleted: archived,
                                      version: resource.version(of: member), account: nil)
                }
                return FeedPage(changes: changes, next: position.next(read: items.count, count: 1000, phases: 2)?.text, truncated: false)
            case .stripeEvents:
                guard let events = object["data"]?.arrayValue else { throw InvalidValue("a Stripe list has data") }
                let more = object["has_more"]?.boolValue ?? false
                let changes = events.flatMap { SyncResource.stripeChange($0) }.filter { $0.resource == resource.name }
                return FeedPage(changes: changes.reversed(), next: more ? events.last?["id"]?.stringValue : nil, truncated: false)
            }
        }
    }

    /// One call to a provider: `GET path`, or a method with a JSON body.
    public struct ProviderCall: Sendable, Equatable {
        public let method: String
        public let path: String
        public let body: JSONValue?

        public init(_ path: String, method: String = "GET", body: JSONValue? = nil) {
            self.method = method
            self.path = path
            self.body = body
        }
    }

    /// Square's `begin_time` default is a year ago; a backfill asks from before Square existed.
    static let squareEpoch = "2009-01-01T00%3A00%3A00Z"

    /// One page of a change feed.
    public struct FeedPage: Sendable {
        /// Oldest first.
        public let changes: [SyncChange]
        public let next: String?
        /// The answer is at the feed's capacity: it may have left changes out.
        public let truncated: Bool
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

    /// The path and query of the page after `cursor` (nil: the first page), for a list read by GET.
    public func pagePath(cursor: String?, account: String?) -> String { pageRequest(cursor: cursor, account: account).path }

    /// The call for the page after `cursor` (nil: the first page).
    public func pageRequest(cursor: String?, account: String?) -> ProviderCall {
        switch paging {
        case .squareSearch(_, let limit):
            var body: [String: JSONValue] = ["limit": .integer(Int64(limit))]
            if let cursor { body["cursor"] = .string(cursor) }
            return ProviderCall(path, method: "POST", body: .object(body))
        case .squareOrders(let limit):
            return LocationCursor.request(cursor, limit: limit, filter: nil)
        default:
            return ProviderCall(listPath(cursor: cursor, account: account))
        }
    }

    func listPath(cursor: String?, account: String?) -> String {
        let base = path.replacingOccurrences(of: "{account}", with: account ?? "")
        let join = base.contains("?") ? "&" : "?"
        switch paging {
        case .squareSearch, .squareOrders:
            return base
        case .stripe(let limit):
            return base + join + "limit=\(limit)" + (cursor.map { "&starting_after=\(Self.escape($0))" } ?? "")
        case .squareCursor(_, let limit):
            return base + join + "limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? "")
        case .offset(_, let count):
            return base + join + "count=\(count)&offset=\(cursor.flatMap(Int.init) ?? 0)"
        case .perList(let path, _, let count):
            guard let position = ListCursor(cursor), let list = position.list else { return ListCursor.listsPath }
            return path.replacingOccurrences(of: "{list}", with: Self.escape(list)) + "?count=\(count)&offset=\(position.offset)"
        case .quickBooksQuery(let entity, let limit):
            let start = cursor.flatMap(Int.init) ?? 1
            return base + join + "query=" + Self.escape("SELECT * FROM \(entity) STARTPOSITION \(start) MAXRESULTS \(limit)")
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
        case .squareCursor(let key, _), .squareSearch(let key, _):
            let items = object[key]?.arrayValue ?? []
            return Page(objects: items, next: object["cursor"]?.stringValue)
        case .squareOrders:
            guard let position = LocationCursor(cursor) else { return Page(objects: [], next: LocationCursor.first(object)?.text) }
            return Page(objects: object["orders"]?.arrayValue ?? [], next: position.next(object["cursor"]?.stringValue)?.text)
        case .offset(let key, let count):
            let items = object[key]?.arrayValue ?? []
            let offset = cursor.flatMap(Int.init) ?? 0
            let total = object["total_items"]?.intValue.map(Int.init) ?? (items.count == count ? Int.max : offset + items.count)
            return Page(objects: items, next: offset + items.count < total && !items.isEmpty ? String(offset + items.count) : nil)
        case .perList(_, let key, let count):
            guard let position = ListCursor(cursor) else { return Page(objects: [], next: ListCursor.first(object)?.text) }
            let items = (object[key]?.arrayValue ?? []).map { ListCursor.scoped($0, list: position.list) }
            return Page(objects: items, next: position.next(read: items.count, count: count, phases: 1)?.text)
        case .quickBooksQuery(let entity, let limit):
            guard let response = object["QueryResponse"] else { throw InvalidValue("a QuickBooks query answer has QueryResponse") }
            let items = response[entity]?.arrayValue ?? []
            let start = cursor.flatMap(Int.init) ?? 1
            return Page(objects: items, next: items.count == limit ? String(start + items.count) : nil)
        }
    }

    /// The object's id, as text (within its scope, where it has one).
    public func id(of object: JSONValue) -> String? {
        guard let id = object[idField]?.stringValue ?? object[idField]?.intValue.map(String.init) else { return nil }
        var parts: [String] = []
        for field in idScope {
            guard let part = object[field]?.stringValue else { return nil }
            parts.append(part)
        }
        return (parts + [id]).joined(separator: ":")
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
    /// The event names a change without carrying the object (a QuickBooks entity event, Square's
    /// `catalog.version.updated`): the resource's incremental sync must fetch it.
    public let refresh: Bool

    public init(resource: String, externalID: String, object: JSONValue?, deleted: Bool, version: Int64?, account: String?, refresh: Bool = false) {
        self.resource = resource
        self.externalID = externalID
        self.object = object
        self.deleted = deleted
        self.version = version
        self.account = account
        self.refresh = refresh
    }

    /// "Sync `resource` of `account` soon": what an event that does not carry its object asks for.
    public static func refresh(_ resource: String, account: String?) -> SyncChange {
        SyncChange(resource: resource, externalID: "", object: nil, deleted: false, version: nil, account: account, refresh: true)
    }
}

/// Where a walk over a Square account's orders stands: its locations (read first), which ten of
/// them the search is on, and Square's cursor within that search. As text:
/// `<location>,<location>,…|<chunk>|<cursor>`.
struct LocationCursor: Equatable {
    var locations: [String]
    var chunk: Int
    var cursor: String?

    /// Square's order search takes at most ten locations.
    static let chunkSize = 10

    init(locations: [String], chunk: Int = 0, cursor: String? = nil) {
        self.locations = locations
        self.chunk = chunk
        self.cursor = cursor
    }

    init?(_ text: String?) {
        let parts = (text ?? "").split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let chunk = Int(parts[1]) else { return nil }
        self.init(locations: parts[0].split(separator: ",").map(String.init), chunk: chunk, cursor: parts[2].isEmpty ? nil : String(parts[2]))
    }

    var text: String { locations.joined(separator: ",") + "|\(chunk)|" + (cursor ?? "") }

    var batch: [String] { Array(locations.dropFirst(chunk * Self.chunkSize).prefix(Self.chunkSize)) }

    static func first(_ answer: [String: JSONValue]) -> LocationCursor? {
        let ids = (answer["locations"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        return ids.isEmpty ? nil : LocationCursor(locations: ids)
    }

    /// The position after a page whose answer carried `cursor` (nil: that search is done).
    func next(_ cursor: String?) -> LocationCursor? {
        if let cursor { return LocationCursor(locations: locations, chunk: chunk, cursor: cursor) }
        return (chunk + 1) * Self.chunkSize < locations.count ? LocationCursor(locations: locations, chunk: chunk + 1) : nil
    }

    /// The locations call, or the search for the position's locations: every order oldest first,
    /// or (with `filter`) those updated after that time, in update order.
    static func request(_ text: String?, limit: Int, filter: String?) -> SyncResource.ProviderCall {
        guard let position = LocationCursor(text) else { return SyncResource.ProviderCall("/v2/locations") }
        var query: [String: JSONValue] = ["sort": ["sort_field": filter == nil ? "CREATED_AT" : "UPDATED_AT", "sort_order": "ASC"]]
        if let filter { query["filter"] = ["date_time_filter": ["updated_at": ["start_at": .string(filter)]]] }
        var body: [String: JSONValue] = ["location_ids": .array(position.batch.map(JSONValue.string)), "limit": .integer(Int64(limit)), "query": .object(query)]
        if let cursor = position.cursor { body["cursor"] = .string(cursor) }
        return SyncResource.ProviderCall("/v2/orders/search", method: "POST", body: .object(body))
    }
}
