/// Why a configuration value (a URL, a number, a level) cannot be used; the configuration
/// reader adds which variable held it and an example of a valid value.
public struct InvalidValue: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
