import JunctionCore

extension SyncResource {
    /// Mailchimp Marketing: lists (audiences) and campaigns by `count`/`offset`; members and tags
    /// of every list (the lists first, then each list's). A member's id (the MD5 of its email) is
    /// the same in every list, so its record's id is `<list>:<member>`. Members carry
    /// `last_changed`; incremental runs ask each list for the members changed since the last run
    /// began, then for those archived since (deletes).
    static let mailchimp: [SyncResource] = [
        SyncResource(name: "lists", path: "/3.0/lists", paging: .offset(itemsKey: "lists", count: 100)),
        SyncResource(name: "members", path: "/3.0/lists", paging: .perList(path: "/3.0/lists/{list}/members", itemsKey: "members", count: 1000),
                     idScope: ["list_id"], version: .timestamp(["last_changed"]), changes: .mailchimpMembers),
        SyncResource(name: "tags", path: "/3.0/lists", paging: .perList(path: "/3.0/lists/{list}/tag-search", itemsKey: "tags", count: 1000),
                     idField: "name", idScope: ["list_id"]),
        SyncResource(name: "campaigns", path: "/3.0/campaigns", paging: .offset(itemsKey: "campaigns", count: 100)),
    ]

    /// A Marketing webhook (`subscribe`, `profile`, `unsubscribe`, `upemail`, `cleaned`) names a
    /// member without carrying it whole: the members are synced. It belongs to the endpoint's
    /// connection (its URL token), so it names no account.
    static func mailchimpChanges(_ body: [UInt8]) -> [SyncChange] {
        let form = String(decoding: body, as: UTF8.self)
        guard form.contains("type="), form.contains("data%5Blist_id%5D=") || form.contains("data[list_id]=") else { return [] }
        return [.refresh("members", account: nil)]
    }
}

/// Where a walk over every list of a Mailchimp account stands: the lists (read first), which one,
/// the phase within it (a change feed reads changed members, then archived ones) and the offset.
/// As text: `<list>,<list>,…|<index>|<phase>|<offset>`.
struct ListCursor: Equatable {
    var lists: [String]
    var index: Int
    var phase: Int
    var offset: Int

    /// Every page of a list but the last is read again from this many objects before its end: an
    /// object that leaves the list (archived) while it is walked shifts the rest back by one, and
    /// the overlap reads the one that would have been skipped (up to this many per page).
    static let overlap = 10

    static let listsPath = "/3.0/lists?count=1000&offset=0&fields=lists.id,total_items"

    init(lists: [String], index: Int = 0, phase: Int = 0, offset: Int = 0) {
        self.lists = lists
        self.index = index
        self.phase = phase
        self.offset = offset
    }

    init?(_ text: String?) {
        let parts = (text ?? "").split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let index = Int(parts[1]), let phase = Int(parts[2]), let offset = Int(parts[3]) else { return nil }
        self.init(lists: parts[0].split(separator: ",").map(String.init), index: index, phase: phase, offset: offset)
    }

    var text: String { lists.joined(separator: ",") + "|\(index)|\(phase)|\(offset)" }

    var list: String? { index < lists.count ? lists[index] : nil }

    /// The first position, from the answer to ``listsPath``; nil when the account has no list.
    static func first(_ answer: [String: JSONValue]) -> ListCursor? {
        let ids = (answer["lists"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        return ids.isEmpty ? nil : ListCursor(lists: ids)
    }

    /// The position after a page of `read` objects (of at most `count`).
    func next(read: Int, count: Int, phases: Int) -> ListCursor? {
        var next = self
        if read >= count {
            next.offset += read - Self.overlap
        } else if phase + 1 < phases {
            next.phase += 1
            next.offset = 0
        } else if index + 1 < lists.count {
            next = ListCursor(lists: lists, index: index + 1)
        } else {
            return nil
        }
        return next
    }

    /// The object with its list's id, where it does not say (a tag).
    static func scoped(_ object: JSONValue, list: String?) -> JSONValue {
        guard object["list_id"] == nil, let list, case .object(var fields) = object else { return object }
        fields["list_id"] = .string(list)
        return .object(fields)
    }
}
