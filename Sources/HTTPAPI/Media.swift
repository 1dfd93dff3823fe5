import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Logging
import Node

/// Serving stored objects: streamed chunk by chunk from the chunk store, with HTTP Range (206,
/// 416), a strong ETag (the object's content id: its bytes never change), If-None-Match (304)
/// and long private caching.
enum ObjectResponse {
    static let cacheControl = "private, max-age=86400, no-transform"

    /// A `Range: bytes=…` header against an object of `size` bytes: nil for the whole object
    /// (no header, several ranges, or one this server ignores), a range, or 416.
    static func range(_ header: String?, size: UInt64) throws -> ClosedRange<UInt64>? {
        guard let header else { return nil }
        let h = header.trimmingCharacters(in: .whitespaces)
        guard h.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = h.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return nil }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { throw unsatisfiable(size) }
        if parts[0].isEmpty {
            guard let n = UInt64(parts[1]), n > 0, size > 0 else { throw unsatisfiable(size) }
            return (size - min(n, size))...(size - 1)
        }
        guard let start = UInt64(parts[0]), start < size else { throw unsatisfiable(size) }
        if parts[1].isEmpty { return start...(size - 1) }
        guard let end = UInt64(parts[1]), end >= start else { throw unsatisfiable(size) }
        return start...min(end, size - 1)
    }

    struct Unsatisfiable: Error { let size: UInt64 }
    static func unsatisfiable(_ size: UInt64) -> Unsatisfiable { Unsatisfiable(size: size) }

    static func etag(_ ref: ObjectRef) -> String { "\"\(ref.id.hex)\"" }

    /// True when `If-None-Match` names this object's ETag (or `*`).
    static func notModified(_ request: Request, _ ref: ObjectRef) -> Bool {
        guard let inm = request.headers[.ifNoneMatch] else { return false }
        let tag = etag(ref)
        return inm.split(separator: ",").contains { t in
            let s = t.trimmingCharacters(in: .whitespaces)
            return s == "*" || s == tag || s == "W/" + tag
        }
    }

    /// The response for `ref`: 304, 206, 416 or 200, its body read from `lib`'s chunks as it is sent.
    /// Chunks this node lacks are fetched from a peer first (a node that keeps no originals).
    static func serve(_ ref: ObjectRef, contentType: String, fileName: String?, request: Request, lib: LibraryObjects,
                      metrics: APIMetrics, logger: Logger) async throws -> Response {
        var headers = HTTPFields()
        headers[.eTag] = etag(ref)
        headers[.cacheControl] = cacheControl
        headers[.acceptRanges] = "bytes"
        if notModified(request, ref) { return Response(status: .notModified, headers: headers) }
        let missing = try await HearthAPI.blocking { try lib.missing(of: ref.chunks) }
        if !missing.isEmpty {
            do { try await lib.fetch(ref.chunks, logger: logger) } catch {
                throw APIError.notFound("The bytes of this asset are not stored on this node and no peer provided them: \(error)")
            }
        }
        let range: ClosedRange<UInt64>?
        do { range = try self.range(request.headers[.range], size: ref.size) } catch let e as Unsatisfiable {
            headers[.contentRange] = "bytes */\(e.size)"
            let r = ImmichErrorMiddleware<HearthRequestContext>.errorResponse(
                APIError(.rangeNotSatisfiable, "Range \(request.headers[.range] ?? "") is outside the object's \(e.size) bytes"),
                correlationID: newCorrelationID())
            var out = r
            for f in headers { out.headers.append(f) }
            return out
        }
        headers[.contentType] = contentType
        if let fileName {
            let safe = fileName.replacingOccurrences(of: "\"", with: "'").filter { $0.asciiValue.map { $0 >= 32 && $0 < 127 } ?? false }
            headers[.contentDisposition] = "inline; filename=\"\(safe)\""
        }
        let span = range ?? (ref.size == 0 ? nil : 0...(ref.size - 1))
        let length = span.map { $0.upperBound - $0.lowerBound + 1 } ?? 0
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(ref.size)" }
        let chunks = ref.chunks
        let body = ResponseBody(contentLength: Int(length)) { writer in
            guard let span else { try await writer.finish(nil); return }
            var offset: UInt64 = 0
            for id in chunks {
                if offset > span.upperBound { break }
                let bytes = try await HearthAPI.blocking { try lib.readChunk(id) }
                let start = offset, end = offset + UInt64(bytes.count)
                offset = end
                guard end > span.lowerBound else { continue }
                let from = Int(max(start, span.lowerBound) - start)
                let to = Int(min(end, span.upperBound + 1) - start)
                try await writer.write(ByteBuffer(bytes: bytes[from..<to]))
            }
            try await writer.finish(nil)
        }
        return Response(status: range == nil ? .ok : .partialContent, headers: headers, body: body)
    }
}

extension HearthAPI {
    static let mediaRoutes: [APIRoute] = [
        APIRoute(.get, "/api/assets/{id}/original", "downloadAsset", tag: "Assets", "The original bytes") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let a = try await blocking { try asset(uuid, in: lib) }
            return try await ObjectResponse.serve(a.original, contentType: a.mimeType ?? "application/octet-stream", fileName: a.fileName,
                                                  request: req, lib: lib, metrics: api.metrics, logger: api.logger)
        },
        APIRoute(.get, "/api/assets/{id}/thumbnail", "viewAsset", tag: "Assets",
                 "A thumbnail (WebP), preview (JPEG) or the full-size image") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let size = req.uri.queryParameters.get("size") ?? "thumbnail"
            guard ["thumbnail", "preview", "fullsize"].contains(size) else {
                throw APIError.badRequest("size must be one of the following values: thumbnail, preview, fullsize")
            }
            let a = try await blocking { try asset(uuid, in: lib) }
            let webShown: Set<String> = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"]
            let chosen: (ObjectRef, String)?
            switch size {
            case "thumbnail": chosen = a.thumbnail.map { ($0, "image/webp") } ?? a.preview.map { ($0, "image/jpeg") }
            case "preview": chosen = a.preview.map { ($0, "image/jpeg") } ?? a.thumbnail.map { ($0, "image/webp") }
            default:
                chosen = a.type != "video" && webShown.contains(a.mimeType ?? "") ? (a.original, a.mimeType!)
                    : a.preview.map { ($0, "image/jpeg") }
            }
            guard let chosen else { throw APIError.notFound("Asset \(uuid) has no \(size) image") }
            return try await ObjectResponse.serve(chosen.0, contentType: chosen.1, fileName: nil, request: req, lib: lib,
                                                  metrics: api.metrics, logger: api.logger)
        },
        APIRoute(.get, "/api/assets/{id}/video/playback", "playAssetVideo", tag: "Assets", "The video's bytes") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let a = try await blocking { try asset(uuid, in: lib) }
            if a.type == "video" {
                return try await ObjectResponse.serve(a.original, contentType: a.mimeType ?? "video/mp4", fileName: a.fileName,
                                                      request: req, lib: lib, metrics: api.metrics, logger: api.logger)
            }
            if let v = a.motionVideo {
                return try await ObjectResponse.serve(v, contentType: "video/mp4", fileName: nil, request: req, lib: lib,
                                                      metrics: api.metrics, logger: api.logger)
            }
            throw APIError.badRequest("Asset \(uuid) is not a video")
        },
        APIRoute(.post, "/api/download/archive", "downloadArchive", tag: "Download", "A zip of originals, streamed") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("assetIds", max: maxBulkIDs)!
            guard !ids.isEmpty else { throw APIError.badRequest("assetIds must not be empty") }
            let assets = try await blocking { try ids.map { try asset($0, in: lib) } }
            var wanted: [Hash256] = []
            for a in assets { wanted += a.original.chunks }
            let lacking = wanted
            if try await !blocking({ try lib.missing(of: lacking) }).isEmpty {
                do { try await lib.fetch(lacking, logger: api.logger) } catch {
                    throw APIError.notFound("Some originals are not stored on this node and no peer provided them: \(error)")
                }
            }
            let entries = ZipStream.entries(assets.map { ($0.fileName, $0.original, $0.takenAt) })
            guard let length = ZipStream.length(entries) else {
                throw APIError.badRequest("The archive would exceed 4 GiB or 65,535 files; ask for fewer assets at once")
            }
            var h = HTTPFields()
            h[.contentType] = "application/zip"
            h[.contentLength] = String(length)
            h[.contentDisposition] = "attachment; filename=\"immich-download.zip\""
            return Response(status: .ok, headers: h, body: ResponseBody(contentLength: length) { writer in
                try await ZipStream.write(entries, read: { id in try await blocking { try lib.readChunk(id) } }) { bytes in
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                try await writer.finish(nil)
            })
        },
    ]
}
