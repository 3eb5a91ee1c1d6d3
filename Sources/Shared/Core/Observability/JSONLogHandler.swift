import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard output:
///
/// ```json
/// {"ts":"2026-11-21T17:01:43.123Z","level":"info","logger":"junction.ingress","msg":"listening","port":"8080"}
/// ```
///
/// Metadata keys become top-level fields (`meta.` is prefixed to a key that would clash with
/// `ts`, `level`, `logger`, `msg` or `source`). Values under keys that name credentials
/// (`password`, `secret`, `token`, `authorization`, `signature`, `cookie`, `api_key`) are replaced
/// by `[redacted]`, so a careless call site cannot leak one.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }

        var line = "{\"ts\":"
        JSONText.appendString(Self.timestamp(), to: &line)
        line += ",\"level\":"
        JSONText.appendString(event.level.rawValue, to: &line)
        line += ",\"logger\":"
        JSONText.appendString(label, to: &line)
        line += ",\"msg\":"
        JSONText.appendString(event.message.description, to: &line)
        for key in merged.keys.sorted() {
            let name = Self.reserved.contains(key) ? "meta." + key : key
            line += ","
            JSONText.appendString(name, to: &line)
            line += ":"
            if Self.isSensitive(key) {
                line += "\"[redacted]\""
            } else {
                Self.append(merged[key]!, to: &line)
            }
        }
        if event.level >= .error {
            line += ",\"source\":"
            JSONText.appendString("\(event.file.split(separator: "/").last ?? ""):\(event.line)", to: &line)
        }
        line += "}\n"
        output.write(line)
    }

    private static let reserved: Set<String> = ["ts", "level", "logger", "msg", "source"]
    private static let sensitiveWords: [[UInt8]] = ["password", "secret", "token", "authorization", "signature", "cookie", "api_key", "apikey"]
        .map { Array($0.utf8) }

    /// True for metadata keys (and header names) that name a credential: any of the words above,
    /// in any case, anywhere in the key. Compared byte by byte: the ingress asks for every header
    /// of every delivery.
    public static func isSensitive(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { isSensitive($0) }
    }

    /// The same for a name's UTF-8 bytes.
    public static func isSensitive(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        sensitiveWords.contains { containsIgnoringASCIICase(key, $0) }
    }

    /// True when `haystack` contains `word` (lowercase ASCII), ignoring the case of ASCII letters.
    public static func containsIgnoringASCIICase(_ haystack: UnsafeBufferPointer<UInt8>, _ word: [UInt8]) -> Bool {
        guard word.count <= haystack.count else { return false }
        for start in 0...(haystack.count - word.count) {
            var matched = true
            for offset in 0..<word.count {
                var byte = haystack[start + offset]
                if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
                if byte != word[offset] {
                    matched = false
                    break
                }
            }
            if matched { return true }
        }
        return false
    }

    private static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text): JSONText.appendString(text, to: &line)
        case .stringConvertible(let convertible): JSONText.appendString(convertible.description, to: &line)
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                append(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                JSONText.appendString(key, to: &line)
                line += ":"
                if isSensitive(key) { line += "\"[redacted]\"" } else { append(dictionary[key]!, to: &line) }
            }
            line += "}"
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }
}

/// Where log lines go: standard output, or a buffer (for tests of the format).
public final class LogOutput: Sendable {
    private let buffered: Bool
    /// Lines kept by a memory output; the same lock serialises writes to standard output.
    private let memory = Mutex<[String]>([])

    private init(buffered: Bool) {
        self.buffered = buffered
    }

    /// Standard output, one `write(2)` per line, so lines from several threads never interleave.
    public static let standardOutput = LogOutput(buffered: false)

    /// An in-memory sink whose lines ``lines`` returns.
    public static func memory() -> LogOutput { LogOutput(buffered: true) }

    /// The lines written so far (memory outputs only).
    public var lines: [String] { memory.withLock { $0 } }

    func write(_ line: String) {
        memory.withLock { lines in
            if buffered {
                lines.append(line)
                return
            }
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
                    if written <= 0 {
                        if written < 0 && errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}

/// Sets up logging for a Junction process: JSON lines on standard output at `level`.
public enum JunctionLogging {
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap({ label, provider in
            var handler = JSONLogHandler(label: label, level: level)
            handler.metadataProvider = provider
            return handler
        }, metadataProvider: Correlation.metadataProvider)
    }
}
