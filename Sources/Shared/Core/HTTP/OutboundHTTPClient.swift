import CCurl
import CCurlShim
import Foundation

/// Outbound HTTP(S) over libcurl, for async code.
///
/// Each pool thread owns one curl easy handle and keeps it between requests, so connections
/// (and TLS sessions) to a provider are reused. TLS certificate and host verification are always
/// on; there is no switch to turn them off. Only `http` and `https` URLs are followed, and
/// redirects are not: a provider API that redirects is an error worth seeing.
///
/// ```swift
/// let http = OutboundHTTPClient()
/// let response = try await http.send(OutboundRequest(method: "GET", url: "https://api.stripe.com/v1/customers",
///                                                headers: [("Authorization", "Bearer \(key)")]))
/// if response.status == 429, let wait = response.retryAfter() { … }
/// ```
public final class OutboundHTTPClient: Sendable {
    private let pool: BlockingPool<CurlHandle>
    /// The largest response body accepted; a larger one fails with ``OutboundHTTPError/responseTooLarge(limit:)``.
    public let maxResponseBytes: Int

    /// Creates a client with `connections` threads, each keeping its own connection cache.
    public init(connections: Int = 4, maxResponseBytes: Int = 32 << 20) {
        CurlHandle.initializeLibrary()
        self.maxResponseBytes = maxResponseBytes
        self.pool = BlockingPool(name: "http", size: connections) {
            try CurlHandle()
        } cleanup: { handle in
            handle.close()
        }
    }

    /// Sends the request and returns the final response, whatever its status. Throws
    /// ``OutboundHTTPError`` when no response arrived.
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let limit = maxResponseBytes
        return try await pool.run { handle in try handle.perform(request, maxResponseBytes: limit) }
    }

    /// Closes the handles and their connections once queued requests are done.
    public func shutdown() async {
        await pool.shutdown()
    }
}

/// Why no HTTP response arrived, by what the caller can do about it.
public enum OutboundHTTPError: Error, Sendable, Equatable {
    /// The connect or total timeout passed.
    case timeout
    /// Nothing accepted the connection (refused, unreachable).
    case connectionRefused(String)
    /// The host name did not resolve.
    case dns(String)
    /// The TLS handshake or the certificate check failed.
    case tls(String)
    /// The connection broke while sending or receiving.
    case connectionLost(String)
    /// The URL is malformed or not http/https.
    case invalidURL(String)
    /// The body passed ``OutboundHTTPClient/maxResponseBytes``.
    case responseTooLarge(limit: Int)
    /// Any other libcurl failure, with its code and message.
    case transport(code: Int, message: String)

    /// True when the same request may succeed later.
    public var isRetryable: Bool {
        switch self {
        case .timeout, .connectionRefused, .dns, .connectionLost: true
        case .transport: true
        case .tls, .invalidURL, .responseTooLarge: false
        }
    }
}

extension OutboundHTTPError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .timeout: "the HTTP request timed out"
        case .connectionRefused(let detail): "connection refused: \(detail)"
        case .dns(let detail): "host name did not resolve: \(detail)"
        case .tls(let detail): "TLS failed: \(detail)"
        case .connectionLost(let detail): "the connection broke: \(detail)"
        case .invalidURL(let detail): "invalid URL: \(detail)"
        case .responseTooLarge(let limit): "the response body is larger than \(limit) bytes"
        case .transport(let code, let message): "HTTP transport error \(code): \(message)"
        }
    }
}

/// One curl easy handle; owned by one thread.
package final class CurlHandle {
    private var handle: UnsafeMutableRawPointer?
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    private static let libraryInitialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    /// `curl_global_init` is not thread-safe; it runs once, before any pool thread starts.
    static func initializeLibrary() {
        precondition(libraryInitialized, "curl_global_init failed")
    }

    package init() throws(OutboundHTTPError) {
        guard let handle = curl_easy_init() else {
            throw .transport(code: -1, message: "curl_easy_init failed")
        }
        self.handle = handle
    }

    deinit {
        close()
    }

    package func close() {
        if let handle {
            curl_easy_cleanup(handle)
            self.handle = nil
        }
    }

    package func perform(_ request: OutboundRequest, maxResponseBytes: Int) throws(OutboundHTTPError) -> OutboundResponse {
        guard let handle else { throw .transport(code: -1, message: "handle closed") }
        // Reset clears the options of the previous request but keeps the connection cache.
        curl_easy_reset(handle)
        let sink = ResponseSink(limit: maxResponseBytes)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // curl would otherwise send `Expect: 100-continue` for larger bodies and wait for it.
        headerList = curl_slist_append(headerList, "Expect:")

        let code: CURLcode = request.body.withUnsafeBufferPointer { body in
            errorBuffer.withUnsafeMutableBufferPointer { errors in
                errors[0] = 0
                junction_curl_setopt_string(handle, CURLOPT_URL, request.url)
                junction_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
                junction_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                junction_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
                junction_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
                junction_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
                junction_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
                switch request.method {
                case "GET":
                    junction_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                case "HEAD":
                    junction_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
                default:
                    junction_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
                }
                if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
                    junction_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                    junction_curl_setopt_pointer(
                        handle, CURLOPT_POSTFIELDS,
                        UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafePointer(bitPattern: 1)))
                }
                let context = Unmanaged.passUnretained(sink).toOpaque()
                junction_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
                    Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendBody(data, size * count)
                })
                junction_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
                junction_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
                    Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().appendHeaderLine(data, size * count)
                })
                junction_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
                return withExtendedLifetime(sink) { curl_easy_perform(handle) }
            }
        }
        guard code == CURLE_OK else {
            throw Self.error(code, message: String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), sink: sink)
        }
        var status = 0
        junction_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return OutboundResponse(status: status, headers: sink.headers, body: sink.body)
    }

    /// curl takes whole milliseconds, and 0 would mean "no timeout".
    private static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int(Milliseconds.of(duration)))
    }

    private static func error(_ code: CURLcode, message: String, sink: ResponseSink) -> OutboundHTTPError {
        let detail = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_COULDNT_CONNECT: return .connectionRefused(detail)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .dns(detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED:
            return .tls(detail)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .connectionLost(detail)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidURL(detail)
        case CURLE_WRITE_ERROR where sink.exceededLimit: return .responseTooLarge(limit: sink.limit)
        default: return .transport(code: Int(code.rawValue), message: detail)
        }
    }
}

/// Collects the response as curl hands it over.
private final class ResponseSink {
    let limit: Int
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var exceededLimit = false

    init(limit: Int) { self.limit = limit }

    /// Returns the number of bytes taken; anything else makes curl abort with a write error.
    func appendBody(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data, count > 0 else { return 0 }
        guard body.count + count <= limit else {
            exceededLimit = true
            return 0
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
        return count
    }

    /// curl calls this once per header line, status lines included; a new status line (after
    /// `100 Continue`, say) starts a new set of headers.
    func appendHeaderLine(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data else { return 0 }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headers.removeAll()
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        return count
    }
}
