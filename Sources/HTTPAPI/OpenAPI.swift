import Foundation
import Presentation

/// `GET /api/spec.json`: an OpenAPI 3 document of exactly the routes in `HearthAPI.routes`.
enum OpenAPIDocument {
    static func make(_ routes: [APIRoute]) -> JSON {
        var byPath: [(String, [(String, JSON)])] = []
        for r in routes {
            let params: [JSON] = r.pathParameters.map { p in
                .object([("name", .string(p)), ("in", .string("path")), ("required", .bool(true)),
                         ("schema", .object([("type", .string("string")), ("format", .string("uuid"))]))])
            }
            let errorRef = JSON.object([("description", .string("Immich error body")), ("content", .object([("application/json", .object([
                ("schema", .object([("$ref", .string("#/components/schemas/ErrorResponse"))]))]))]))])
            let op: JSON = .object([
                ("operationId", .string(r.operationId)), ("summary", .string(r.summary)), ("tags", .array([.string(r.tag)])),
                ("parameters", .array(params)),
                ("security", .array(r.open ? [] : [.object([("bearer", .array([]))]), .object([("cookie", .array([]))]), .object([("api_key", .array([]))])])),
                ("responses", .object([("2XX", .object([("description", .string("Success"))])), ("default", errorRef)])),
            ])
            let method = r.method.rawValue.lowercased()
            if let i = byPath.firstIndex(where: { $0.0 == r.path }) { byPath[i].1.append((method, op)) }
            else { byPath.append((r.path, [(method, op)])) }
        }
        let str = JSON.object([("type", .string("string"))])
        return .object([
            ("openapi", .string("3.0.3")),
            ("info", .object([("title", .string("Hearth (Immich-compatible API)")), ("version", .string(HearthAPI.versionString))])),
            ("paths", .object(byPath.map { ($0.0, .object($0.1)) })),
            ("components", .object([
                ("securitySchemes", .object([
                    ("bearer", .object([("type", .string("http")), ("scheme", .string("Bearer"))])),
                    ("cookie", .object([("type", .string("apiKey")), ("in", .string("cookie")), ("name", .string("immich_access_token"))])),
                    ("api_key", .object([("type", .string("apiKey")), ("in", .string("header")), ("name", .string("x-api-key"))])),
                ])),
                ("schemas", .object([("ErrorResponse", .object([
                ("type", .string("object")),
                ("required", .array(["message", "error", "statusCode", "correlationId"].map(JSON.string))),
                ("properties", .object([("message", str), ("error", str), ("statusCode", .object([("type", .string("integer"))])),
                                        ("correlationId", str)])),
            ]))]))])),
        ])
    }
}
