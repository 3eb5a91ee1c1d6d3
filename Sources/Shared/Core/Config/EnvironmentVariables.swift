import Foundation

/// The process environment, read once at start-up into typed settings.
///
/// Every accessor names its variable and an example, so a missing or malformed value stops the
/// process with a message that says exactly what to fix:
///
/// ```text
/// JUNCTION_INGRESS_PORT=80a is invalid: not a whole number. Example: JUNCTION_INGRESS_PORT=8080
/// ```
public struct EnvironmentVariables: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The variable's value, or `defaultValue` when it is unset or empty.
    public func string(_ name: String, default defaultValue: String) -> String {
        guard let value = values[name], !value.isEmpty else { return defaultValue }
        return value
    }

    /// The variable's value; throws when it is unset or empty.
    public func required(_ name: String, example: String) throws(ConfigurationError) -> String {
        guard let value = values[name], !value.isEmpty else {
            throw ConfigurationError(variable: name, problem: "\(name) is not set", example: example)
        }
        return value
    }

    /// Parses the variable (or `defaultValue` when it is unset or empty) with `parse`.
    /// `sensitive` values (URLs that may hold passwords, secrets) are never echoed in the error.
    public func parse<T>(
        _ name: String, default defaultValue: String, example: String, sensitive: Bool = false,
        _ parse: (String) throws(InvalidValue) -> T
    ) throws(ConfigurationError) -> T {
        let raw = string(name, default: defaultValue)
        do {
            return try parse(raw)
        } catch {
            let subject = sensitive ? name : "\(name)=\(raw)"
            throw ConfigurationError(variable: name, problem: "\(subject) is invalid: \(error.reason)", example: example)
        }
    }

    /// An integer in `range`.
    public func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>, example: String? = nil) throws(ConfigurationError) -> Int {
        try parse(name, default: String(defaultValue), example: example ?? String(defaultValue)) { (text: String) throws(InvalidValue) -> Int in
            guard let value = Int(text) else { throw InvalidValue("not a whole number") }
            guard range.contains(value) else { throw InvalidValue("must be between \(range.lowerBound) and \(range.upperBound)") }
            return value
        }
    }

    /// A duration written as a number with a unit: `250ms`, `25s`, `5m`, `72h`, `30d`; a bare
    /// number counts seconds.
    public func duration(_ name: String, default defaultValue: String, example: String? = nil) throws(ConfigurationError) -> Duration {
        try parse(name, default: defaultValue, example: example ?? defaultValue) { (text: String) throws(InvalidValue) -> Duration in
            guard let value = Self.parseDuration(text) else {
                throw InvalidValue("not a duration (a number followed by ms, s, m, h or d)")
            }
            return value
        }
    }

    /// Parses `250ms`, `25s`, `5m`, `72h`, `30d`, or a bare number of seconds.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

/// A setting that is missing or malformed: which variable, what is wrong, and a valid example.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable at fault.
    public let variable: String
    /// A sentence that starts with the variable, such as `JUNCTION_INGRESS_PORT=80a is invalid: …`.
    public let problem: String
    /// A valid value.
    public let example: String

    public init(variable: String, problem: String, example: String) {
        self.variable = variable
        self.problem = problem
        self.example = example
    }

    public var description: String {
        "\(problem). Example: \(variable)=\(example)"
    }
}
