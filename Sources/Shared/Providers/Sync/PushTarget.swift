import Foundation
import JunctionCore

/// How a provider takes a write of one resource (`push.outbound`): where a create and an update
/// go, how the fields are written, and how a retry is kept from writing twice. Each provider's
/// are in its folder (`<Provider>Push.swift`).
public struct PushTarget: Sendable {
    public let provider: String
    public let resource: String
    /// `POST` here creates.
    public let createPath: String
    /// `POST` here (`{id}` the object's id) updates.
    public let updatePath: String
    public let encoding: Encoding
    /// The header a retry repeats so the provider answers it without writing again (Stripe's
    /// `Idempotency-Key`).
    public let idempotencyHeader: String?

    public enum Encoding: Sendable {
        /// `application/x-www-form-urlencoded`, nested objects as `address[city]=…` (Stripe).
        case form
    }

    public func path(_ operation: String, id: String?) -> String {
        operation == "update" ? updatePath.replacingOccurrences(of: "{id}", with: id.map(FormEncoding.component) ?? "") : createPath
    }

    public func body(_ fields: JSONValue) -> (contentType: String, bytes: [UInt8]) {
        switch encoding {
        case .form: ("application/x-www-form-urlencoded", Array(FormEncoding.encode(fields).utf8))
        }
    }
}

public enum PushCatalog {
    public static let all: [PushTarget] = stripe

    public static func target(provider: String, resource: String) -> PushTarget? {
        all.first { $0.provider == provider && $0.resource == resource }
    }
}

/// Stripe's form encoding: `a=1&address[city]=Lyon&items[0][price]=p_1`.
public enum FormEncoding {
    public static func encode(_ value: JSONValue) -> String {
        var pairs: [String] = []
        func walk(_ value: JSONValue, _ key: String) {
            switch value {
            case .object(let members):
                for name in members.keys.sorted() { walk(members[name]!, key.isEmpty ? name : "\(key)[\(name)]") }
            case .array(let elements):
                for (index, element) in elements.enumerated() { walk(element, "\(key)[\(index)]") }
            case .null: pairs.append("\(component(key))=")
            case .string(let text): pairs.append("\(component(key))=\(component(text))")
            case .integer(let number): pairs.append("\(component(key))=\(number)")
            case .number(let number): pairs.append("\(component(key))=\(number)")
            case .bool(let flag): pairs.append("\(component(key))=\(flag)")
            }
        }
        walk(value, "")
        return pairs.joined(separator: "&")
    }

    public static func component(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    private static let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~[]")
}
