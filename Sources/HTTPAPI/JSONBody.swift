import Foundation
import Hummingbird
import Presentation

/// A request's JSON body, read up to the route's limit, with typed field accessors whose errors
/// are Immich's 400s ("isFavorite must be a boolean value").
struct JSONBody {
    let fields: [(String, JSON)]

    /// Reads and parses the body: 413 over `limit`, 415 for a non-JSON content type, 400 for
    /// malformed JSON or a body that is not an object.
    static func read(_ request: Request, limit: Int) async throws -> JSONBody {
        if let type = request.headers[.contentType]?.lowercased(), !type.hasPrefix("application/json"), !type.hasPrefix("text/plain") {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json, not \(type)")
        }
        var req = request
        let buffer = try await req.collectBody(upTo: limit)
        return try parse(Data(buffer.readableBytesView))
    }

    /// Parses a body already read: 400 for malformed JSON or a body that is not an object.
    static func parse(_ data: Data) throws -> JSONBody {
        if data.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            throw APIError.badRequest("Request body must be a JSON object")
        }
        let json: JSON
        do { json = try JSONDecoder().decode(JSON.self, from: data) } catch {
            throw APIError.badRequest("Request body is not valid JSON")
        }
        guard case .object(let pairs) = json else { throw APIError.badRequest("Request body must be a JSON object") }
        return JSONBody(fields: pairs)
    }

    func has(_ key: String) -> Bool { fields.contains { $0.0 == key } }
    func raw(_ key: String) -> JSON? { fields.first { $0.0 == key }?.1 }

    func bool(_ key: String) throws -> Bool? {
        switch raw(key) {
        case nil: return nil
        case .bool(let b)?: return b
        default: throw APIError.badRequest("\(key) must be a boolean value")
        }
    }

    /// A string; JSON null reads as `.some(nil)` ("clear it") when `nullable`.
    func string(_ key: String, maxBytes: Int = 16 << 10, nullable: Bool = false) throws -> String?? {
        switch raw(key) {
        case nil: return nil
        case .null? where nullable: return .some(nil)
        case .string(let s)?:
            guard s.utf8.count <= maxBytes else { throw APIError.badRequest("\(key) must be at most \(maxBytes) bytes") }
            return .some(s)
        default: throw APIError.badRequest("\(key) must be a string")
        }
    }

    func int(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
        switch raw(key) {
        case nil: return nil
        case .int(let i)? where range.contains(i): return i
        case .double(let d)? where d == d.rounded() && range.contains(Int64(exactly: d) ?? .max): return Int64(d)
        case .int?, .double?: throw APIError.badRequest("\(key) must be between \(range.lowerBound) and \(range.upperBound)")
        default: throw APIError.badRequest("\(key) must be an integer number")
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        let v: Double
        switch raw(key) {
        case nil: return nil
        case .int(let i)?: v = Double(i)
        case .double(let d)?: v = d
        default: throw APIError.badRequest("\(key) must be a number")
        }
        guard range.contains(v) else { throw APIError.badRequest("\(key) must be between \(range.lowerBound) and \(range.upperBound)") }
        return v
    }

    /// An array of UUID strings (required when `required`), at most `max` of them.
    func uuids(_ key: String, required: Bool = true, max: Int) throws -> [String]? {
        switch raw(key) {
        case nil:
            if required { throw APIError.badRequest("\(key) must be an array") }
            return nil
        case .array(let items)?:
            guard items.count <= max else { throw APIError.badRequest("\(key) must contain at most \(max) elements") }
            return try items.map { item in
                guard case .string(let s) = item, UUIDText.parse(s) != nil else {
                    throw APIError.badRequest("each value in \(key) must be a UUID")
                }
                return s.lowercased()
            }
        default: throw APIError.badRequest("\(key) must be an array")
        }
    }

    func oneOf(_ key: String, _ allowed: [String]) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard let v = s, allowed.contains(v) else {
            throw APIError.badRequest("\(key) must be one of the following values: \(allowed.joined(separator: ", "))")
        }
        return v
    }
}

/// A path parameter that must be a UUID.
func uuidParameter(_ context: some RequestContext, _ name: String = "id") throws -> String {
    guard let s = context.parameters.get(name), UUIDText.parse(s) != nil else {
        throw APIError.badRequest("\(name) must be a UUID")
    }
    return s.lowercased()
}
