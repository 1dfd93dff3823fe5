import ChunkStore
import Catalog
import Foundation
import Hummingbird
import NIOCore
import Node
import Presentation

/// An error as Immich answers it: status, a message a person can act on, and (added by
/// `ImmichErrorMiddleware`) the request's correlation id, in the body and the `X-Correlation-ID` header.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    /// Seconds a client should wait before trying again (a `Retry-After` header), when known.
    public let retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    public static func badRequest(_ m: String) -> APIError { APIError(.badRequest, m) }
    public static func notFound(_ m: String) -> APIError { APIError(.notFound, m) }
    public var description: String { "\(status.code) \(message)" }

    /// Immich's body: `{"message","error","statusCode","correlationId"}`.
    func body(correlationID: String) -> JSON {
        .object([("message", .string(message)), ("error", .string(Self.errorName(status.code))),
                 ("statusCode", .int(Int64(status.code))), ("correlationId", .string(correlationID))])
    }

    /// The `error` names Immich's server (NestJS) gives each status.
    public static func errorName(_ code: Int) -> String {
        switch code {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Payload Too Large"
        case 415: "Unsupported Media Type"
        case 416: "Requested Range Not Satisfiable"
        case 429: "Too Many Requests"
        case 503: "Service Unavailable"
        default: code >= 500 ? "Internal Server Error" : HTTPResponse.Status(code: code).reasonPhrase
        }
    }

    /// Any error a handler or Hummingbird threw, as the status and message a client gets.
    /// Unknown errors are a 500 whose message does not leak internals beyond the error's text.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "Request body is larger than this route accepts")
        case let e as HTTPError:
            switch e.status {
            case .notFound: return APIError(.notFound, e.body ?? "Not Found")
            case .contentTooLarge: return APIError(.contentTooLarge, "Request body is larger than this route accepts")
            default: return APIError(e.status, e.body ?? e.status.reasonPhrase)
            }
        case let e as CatalogError:
            switch e.code {
            case .unknownAsset, .unknownAlbum, .unknownMember: return APIError(.notFound, e.message)
            case .invalidEdit, .ambiguous, .tooLarge: return APIError(.badRequest, e.message)
            case .notPermitted: return APIError(.forbidden, e.message)
            case .busy: return APIError(.serviceUnavailable, e.message)
            default: return APIError(.internalServerError, e.message)
            }
        case let e as ChunkStoreError:
            return APIError(e.code == .missingChunk ? .notFound : .internalServerError, e.message)
        case let e as NodeError:
            return HearthAPI.nodeErrorResponse(e)
        default:
            return APIError(.internalServerError, "\(error)")
        }
    }
}

extension HTTPFields {
    /// The `X-Correlation-ID` header.
    var correlationID: String? {
        get { self[.init("X-Correlation-ID")!] }
        set { self[.init("X-Correlation-ID")!] = newValue }
    }
}

/// A short random id naming one request in logs, error bodies and the `X-Correlation-ID` header.
func newCorrelationID() -> String {
    var g = SystemRandomNumberGenerator()
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<12).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
}

/// Turns every thrown error (and an unknown route) into Immich's error body, stamps every
/// response with its correlation id, records metrics and writes the access log line.
struct ImmichErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var cid = newCorrelationID()
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var e = APIError.from(error)
            if let h = error as? HTTPError, h.status == .notFound, h.body == nil {
                // No route matched (Hummingbird's not-found responder): Immich's words for it.
                e = APIError(.notFound, "Cannot \(request.method) \(request.uri.path)")
            }
            if e.status.code >= 500 {
                context.logger.error("request failed", metadata: ["correlationId": "\(cid)", "error": "\(error)"])
            }
            response = Self.errorResponse(e, correlationID: cid)
        }
        // A response that made its own error body (a 416) already names its correlation id.
        if let own = response.headers.correlationID { cid = own } else { response.headers.correlationID = cid }
        let route = context.endpointPath ?? "unknown"
        let elapsed = ContinuousClock.now - start
        metrics.record(route: route, method: request.method.rawValue, status: Int(response.status.code), elapsed: elapsed,
                       bytes: response.headers[.contentLength].flatMap { Int($0) } ?? 0)
        let client = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? "-"
        context.logger.info("\(request.method) \(request.uri.path) \(response.status.code)", metadata: [
            "correlationId": "\(cid)", "route": "\(route)", "client": "\(client)",
            "ms": "\(Double(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000))",
        ])
        return response
    }

    static func errorResponse(_ e: APIError, correlationID: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers.correlationID = correlationID
        if let wait = e.retryAfter { headers[.retryAfter] = String(wait) }
        let body = ByteBuffer(string: e.body(correlationID: correlationID).serialized())
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: e.status, headers: headers, body: .init(byteBuffer: body))
    }
}
