import Foundation
import JunctionCore

/// `application/x-www-form-urlencoded` as Stripe reads it: `metadata[plan]=pro`,
/// `address[city]=Lyon`, `expand[]=customer` become nested objects and arrays.
enum FormBody {
    static func parse(_ body: [UInt8]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            let key = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            insert(&result, path: path(key), value: value)
        }
        return result
    }

    /// `a[b][c]` → ["a", "b", "c"]; `a[]` → ["a", ""].
    static func path(_ key: String) -> [String] {
        guard let open = key.firstIndex(of: "[") else { return [key] }
        var parts = [String(key[..<open])]
        var rest = key[open...]
        while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            parts.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return parts
    }

    private static func insert(_ object: inout [String: JSONValue], path: [String], value: String) {
        guard let head = path.first else { return }
        if path.count == 1 {
            object[head] = .string(value)
            return
        }
        if path[1].isEmpty {
            var list: [JSONValue] = if case .array(let existing)? = object[head] { existing } else { [] }
            list.append(.string(value))
            object[head] = .array(list)
            return
        }
        var child: [String: JSONValue] = if case .object(let existing)? = object[head] { existing } else { [:] }
        insert(&child, path: Array(path.dropFirst()), value: value)
        object[head] = .object(child)
    }

    static func query(_ text: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].removingPercentEncoding ?? String(parts[0])
            result[key] = parts.count > 1 ? (parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
        }
        return result
    }
}
