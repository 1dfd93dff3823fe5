import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import MultipartKit
import Node
import Presentation

/// `POST /api/assets` (Immich's multipart upload) and `POST /api/assets/bulk-upload-check`.
///
/// An upload is streamed: the `assetData` part goes to a file under the home's `tmp/` as it
/// arrives, hashed (SHA-1, as Immich's clients deduplicate) on the way, and is then imported by
/// the node's own import path, as `hearth import` would import that file; the temporary file is
/// removed whatever happens. Nothing of a refused upload reaches the catalog or the chunk store.
///
/// Duplicates are found by SHA-1 across the whole library (every member sees the whole library),
/// before the body is read when the client sends `x-immich-checksum`, else once it has arrived.
extension HearthAPI {
    /// Multipart fields other than the files, each at most this long.
    static let maxUploadField = 64 << 10
    /// Bytes of a multipart body that are neither file part (headers, fields, boundaries).
    static let maxUploadOverhead = 1 << 20
    /// Parts one upload may have.
    static let maxUploadParts = 32
    /// A sidecar (XMP) is small.
    static let maxSidecarBytes: Int64 = 4 << 20
    /// Items one bulk-upload-check may name (Immich's clients send 1,000 at a time).
    static let maxUploadCheckItems = 5_000

    static let uploadRoutes: [APIRoute] = [
        APIRoute(.post, "/api/assets", "uploadAsset", tag: "Assets", "Upload a photo or video (multipart)") { api, req, _ in
            try await api.upload(req)
        },
        APIRoute(.post, "/api/assets/bulk-upload-check", "checkBulkUpload", tag: "Assets",
                 "Which of these checksums the library already holds") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            guard case .array(let items)? = body.raw("assets") else { throw APIError.badRequest("assets must be an array") }
            guard items.count <= maxUploadCheckItems else {
                throw APIError.badRequest("assets must contain at most \(maxUploadCheckItems) elements")
            }
            let wanted: [(id: String, sha1: String)] = try items.map { item in
                guard case .object(let f) = item, case .string(let id)? = f.first(where: { $0.0 == "id" })?.1,
                      case .string(let sum)? = f.first(where: { $0.0 == "checksum" })?.1 else {
                    throw APIError.badRequest("each value in assets must be an object with id and checksum strings")
                }
                guard let b64 = ImmichChecksum.base64(sum) else {
                    throw APIError.badRequest("checksum must be a SHA-1 in hex (40) or base64 (28)")
                }
                return (id, b64)
            }
            let results: [JSON] = try await blocking {
                try wanted.map { w in
                    guard let a = try existing(sha1: w.sha1, in: lib) else {
                        return .object([("id", .string(w.id)), ("action", .string("accept"))])
                    }
                    return .object([("id", .string(w.id)), ("action", .string("reject")), ("reason", .string("duplicate")),
                                    ("assetId", .string(AssetUUID(a.id).description)), ("isTrashed", .bool(a.trashedAt != nil))])
                }
            }
            return json(.object([("results", .array(results))]))
        },
    ]

    /// The library's live asset with this SHA-1, if any.
    static func existing(sha1: String, in lib: LibraryObjects) throws -> Asset? {
        for id in try lib.node.catalog.assets(sha1: sha1) {
            if let a = try lib.node.catalog.asset(id), !a.purged { return a }
        }
        return nil
    }

    static func uploadResponse(_ id: Hash256, created: Bool) -> Response {
        json(.object([("id", .string(AssetUUID(id).description)), ("status", .string(created ? "created" : "duplicate"))]),
             status: created ? .created : .ok)
    }

    func upload(_ request: Request) async throws -> Response {
        let auth = try authenticate(request)
        let lib = auth.lib
        if let sum = request.headers.immichChecksum {
            guard let b64 = ImmichChecksum.base64(sum) else {
                throw APIError.badRequest("x-immich-checksum must be a SHA-1 in hex (40) or base64 (28)")
            }
            if let a = try await Self.blocking({ try Self.existing(sha1: b64, in: lib) }) {
                return Self.uploadResponse(a.id, created: false)
            }
        }
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = MultipartBoundary.parse(type) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be multipart/form-data with a boundary")
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > uploadLimit {
            throw APIError(.contentTooLarge, "the upload is larger than this server accepts (\(uploadLimit) bytes)")
        }
        let dir = try UploadFolder(home: lib.node.home)
        defer { dir.remove() }
        let received = try await UploadReceiver(boundary: boundary, folder: dir, limit: uploadLimit, metrics: metrics)
            .receive(request.body)
        let form = try UploadForm(received)
        if let a = try await Self.blocking({ try Self.existing(sha1: form.sha1, in: lib) }) {
            return Self.uploadResponse(a.id, created: false)
        }
        let owner = auth.person.id
        let (id, created) = try await Self.blocking { try Self.importUpload(form, owner: owner, lib: lib) }
        return Self.uploadResponse(id, created: created)
    }

    /// Imports the received file through the node's import path and applies the form's fields.
    static func importUpload(_ form: UploadForm, owner: PersonID?, lib: LibraryObjects) throws -> (Hash256, Bool) {
        let node = lib.node
        var options = ImportOptions()
        options.owner = owner
        options.workers = 1
        // The live photo's video is checked before the import, so a refused upload stores nothing.
        var video: Asset?
        if let text = form.livePhotoVideoId {
            guard let u = AssetUUID(string: text), let vid = try u.resolve(in: node.catalog),
                  let v = try node.catalog.asset(vid), !v.purged, v.type == "video" else {
                throw APIError.badRequest("livePhotoVideoId \(text) is not a video of this library")
            }
            video = v
        }
        // The chunk store's lock is the daemon's between transfers: held only for this import.
        let report = try node.withChunkStore { try node.importPaths([form.file.path], options: options) }
        if let (_, id) = report.duplicates.first { return (id, false) }
        guard let (_, id) = report.imported.first else {
            let why = report.failed.first?.error ?? report.skipped.first.map { "\(form.fileName): \($0.reason)" }
                ?? "\(form.fileName): nothing could be imported"
            throw APIError.badRequest("Unsupported or unreadable file: \(why)")
        }
        var edits: [Edit] = []
        if form.isFavorite { edits.append(.setFavorite(id, true)) }
        if form.visibility == "archive" { edits.append(.setArchived(id, true)) }
        if let v = video {
            edits += [.setField(id, .motion, .bool(true)), .setField(id, .motionVideo, .object(v.original))]
        }
        if !edits.isEmpty { try node.commit(edits) }
        return (id, true)
    }
}

extension HTTPFields {
    /// Immich's `x-immich-checksum`: the SHA-1 of the upload, sent ahead of its body.
    var immichChecksum: String? { self[.init("x-immich-checksum")!] }
}

/// Immich's checksums: SHA-1, as hex (40 characters) or base64 (28); stored as base64.
enum ImmichChecksum {
    static func base64(_ text: String) -> String? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if s.utf8.count == 40, let bytes = Hex.decode(s.lowercased()) { return SHA1.base64(bytes) }
        if SHA1.isBase64Digest(s) { return s }
        return nil
    }
}

/// The boundary parameter of a `multipart/form-data` content type (quoted or not; 1–70 characters).
enum MultipartBoundary {
    static func parse(_ contentType: String) -> String? {
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == "boundary" else { continue }
            var b = kv[1]
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            return (1...70).contains(b.utf8.count) ? b : nil
        }
        return nil
    }
}

/// A folder of its own under the home's `tmp/` for one upload, removed when the upload is done.
struct UploadFolder: Sendable {
    let url: URL

    init(home: Home) throws {
        let tmp = home.root.appendingPathComponent("tmp/uploads", isDirectory: true)
        url = tmp.appendingPathComponent(Hex.encode(secureRandomBytes(8)), isDirectory: true)
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw APIError(.internalServerError, "cannot make a folder for the upload: \(error.localizedDescription)")
        }
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// A file name safe to create here: the last path component, without control characters,
    /// at most 200 bytes, never `.`/`..` or empty.
    static func safeName(_ raw: String?, fallback: String) -> String {
        let last = (raw ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var name = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init))
        while name.utf8.count > 200 { name.removeFirst() }
        if name.isEmpty || name == "." || name == ".." || name.hasPrefix(".") { name = fallback + name }
        return name
    }
}

/// What the multipart body held once received: the file parts on disk, the other fields as text.
struct ReceivedUpload {
    var files: [String: (url: URL, fileName: String?, bytes: Int64)] = [:]
    var fields: [String: String] = [:]
    var sha1 = ""
}

/// Streams a multipart body: file parts to disk (the asset hashed with SHA-1 as it is written),
/// small fields to memory, every size bounded.
final class UploadReceiver {
    private let parser: MultipartParser
    private let folder: UploadFolder
    private let limit: Int64
    private let metrics: APIMetrics
    private var headers: [(String, String)] = []
    private var partName: String?
    private var partFileName: String?
    private var file: FileHandle?
    private var fileURL: URL?
    private var fileBytes: Int64 = 0
    private var fieldBytes: [UInt8] = []
    private var sha1 = SHA1()
    private var result = ReceivedUpload()
    private var parts = 0
    private var totalFileBytes: Int64 = 0
    private var failure: APIError?

    init(boundary: String, folder: UploadFolder, limit: Int64, metrics: APIMetrics) {
        parser = MultipartParser(boundary: boundary)
        self.folder = folder
        self.limit = limit
        self.metrics = metrics
        parser.onHeader = { [unowned self] name, value in headers.append((name.lowercased(), value)) }
        parser.onBody = { [unowned self] buffer in body(&buffer) }
        parser.onPartComplete = { [unowned self] in partComplete() }
    }

    func receive(_ body: RequestBody) async throws -> ReceivedUpload {
        var total: Int64 = 0
        do {
            for try await buffer in body {
                total += Int64(buffer.readableBytes)
                if total > limit { throw APIError(.contentTooLarge, "the upload is larger than this server accepts (\(limit) bytes)") }
                do { try parser.execute(buffer) } catch { throw APIError.badRequest("the multipart body is malformed") }
                if let failure { throw failure }
                if total - totalFileBytes - fileBytes > Int64(HearthAPI.maxUploadOverhead) {
                    throw APIError(.contentTooLarge, "the multipart fields and headers are larger than \(HearthAPI.maxUploadOverhead) bytes")
                }
            }
        } catch {
            try? file?.close()
            throw error
        }
        metrics.uploaded(bytes: Int(total))
        guard file == nil, partName == nil || headers.isEmpty else { throw APIError.badRequest("the multipart body ends inside a part") }
        result.sha1 = sha1.finalizeBase64()
        return result
    }

    private func startPart() {
        guard partName == nil else { return }
        parts += 1
        guard parts <= HearthAPI.maxUploadParts else {
            return fail(APIError(.contentTooLarge, "an upload has at most \(HearthAPI.maxUploadParts) parts"))
        }
        let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        partName = Self.parameter("name", in: disposition) ?? ""
        partFileName = Self.parameter("filename", in: disposition)
        if partName == "assetData" || partName == "sidecarData" {
            guard result.files[partName!] == nil else { return fail(.badRequest("\(partName!) is given twice")) }
            // A dot name, which `UploadFolder.safeName` never gives, so the rename to it cannot collide.
            let url = folder.url.appendingPathComponent(".part-" + partName!)
            guard FileManager.default.createFile(atPath: url.path, contents: nil), let h = try? FileHandle(forWritingTo: url) else {
                return fail(APIError(.internalServerError, "cannot write the upload to \(folder.url.lastPathComponent)"))
            }
            (file, fileURL, fileBytes) = (h, url, 0)
        }
    }

    private func body(_ buffer: inout ByteBuffer) {
        guard failure == nil else { return }
        startPart()
        guard failure == nil else { return }
        if let file {
            fileBytes += Int64(buffer.readableBytes)
            if partName == "sidecarData", fileBytes > HearthAPI.maxSidecarBytes {
                return fail(APIError(.contentTooLarge, "sidecarData is larger than \(HearthAPI.maxSidecarBytes) bytes"))
            }
            buffer.withUnsafeReadableBytes { raw in
                if partName == "assetData" { sha1.update(raw) }
                file.write(Data(raw))
            }
        } else {
            fieldBytes += buffer.readableBytesView
            if fieldBytes.count > HearthAPI.maxUploadField {
                fail(.badRequest("the field \(partName ?? "") is longer than \(HearthAPI.maxUploadField) bytes"))
            }
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
    }

    private func partComplete() {
        guard failure == nil else { return }
        startPart()
        guard failure == nil, let name = partName else { return }
        if let file, let fileURL {
            do { try file.close() } catch { return fail(APIError(.internalServerError, "cannot write the upload: \(error)")) }
            result.files[name] = (fileURL, partFileName, fileBytes)
            totalFileBytes += fileBytes
            (self.file, self.fileURL, fileBytes) = (nil, nil, 0)
        } else if !name.isEmpty {
            result.fields[name] = String(decoding: fieldBytes, as: UTF8.self)
        }
        (partName, partFileName, headers, fieldBytes) = (nil, nil, [], [])
    }

    private func fail(_ e: APIError) { if failure == nil { failure = e } }

    /// A `name="value"` parameter of a Content-Disposition header.
    static func parameter(_ key: String, in header: String) -> String? {
        for param in header.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var v = kv[1]
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}

/// The fields of Immich's `AssetMediaCreateDto` this server uses, checked, with the asset file
/// renamed to its own name (so the import sees the file name and extension the client gave) and
/// its modification time set to `fileCreatedAt` (the import's date when the file has none, as
/// Immich takes `fileCreatedAt` when there is no EXIF date).
struct UploadForm: Sendable {
    let file: URL
    let fileName: String
    let sha1: String
    let isFavorite: Bool
    let visibility: String?
    let livePhotoVideoId: String?

    init(_ r: ReceivedUpload) throws {
        guard let asset = r.files["assetData"] else { throw APIError.badRequest("assetData is required") }
        guard asset.bytes > 0 else { throw APIError.badRequest("assetData must not be empty") }
        let name = UploadFolder.safeName(r.fields["filename"] ?? asset.fileName, fallback: "upload")
        let created = try Self.date(r.fields, "fileCreatedAt"), modified = try Self.date(r.fields, "fileModifiedAt")
        let favorite = r.fields["isFavorite"]
        guard favorite == nil || favorite == "true" || favorite == "false" else {
            throw APIError.badRequest("isFavorite must be a boolean value")
        }
        let visibility = r.fields["visibility"]
        if let v = visibility, !["archive", "timeline"].contains(v) {
            throw APIError.badRequest("visibility must be one of the following values: archive, timeline")
        }
        if let v = r.fields["livePhotoVideoId"], UUIDText.parse(v) == nil { throw APIError.badRequest("livePhotoVideoId must be a UUID") }
        let dir = asset.url.deletingLastPathComponent()
        let named = dir.appendingPathComponent(name)
        let fm = FileManager.default
        do {
            try fm.moveItem(at: asset.url, to: named)
            if let sidecar = r.files["sidecarData"] {
                try fm.moveItem(at: sidecar.url, to: dir.appendingPathComponent(name + ".xmp"))
            }
            try fm.setAttributes([.modificationDate: created ?? modified ?? Date()], ofItemAtPath: named.path)
        } catch {
            throw APIError(.internalServerError, "cannot prepare the upload for import: \(error.localizedDescription)")
        }
        (file, fileName, sha1) = (named, name, r.sha1)
        isFavorite = favorite == "true"
        self.visibility = visibility
        livePhotoVideoId = r.fields["livePhotoVideoId"]?.lowercased()
    }

    static func date(_ fields: [String: String], _ key: String) throws -> Date? {
        guard let s = fields[key] else { return nil }
        guard let d = ImmichDate.parseInstant(s) else { throw APIError.badRequest("\(key) must be an ISO 8601 date-time") }
        return d
    }
}

extension ImmichDate {
    /// An instant: `parseTakenAt`'s wall-clock time at its offset (UTC when none is given).
    static func parseInstant(_ s: String) -> Date? {
        guard let t = parseTakenAt(s) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(t.localSeconds - Int64(t.utcOffsetMinutes ?? 0) * 60))
    }
}
