import Catalog
import Foundation
import HearthCrypto
import Presentation

/// Immich's date-times: `2019-07-04T10:34:56.000Z`.
enum ImmichDate {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    static func string(seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(style)
    }

    static func string(millis: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(millis) / 1000).formatted(style)
    }

    /// The dates Hearth does not record (when an album was made) read as the epoch.
    static let unknown = string(seconds: 0)

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`: the wall-clock time as written and its offset
    /// (Z is +00:00; none given: unknown). Nil when it is not such a date.
    static func parseTakenAt(_ s: String) -> TakenAt? {
        let u = Array(s.utf8)
        guard u.count >= 19 else { return nil }
        let head = String(decoding: u[0..<19], as: UTF8.self)
        guard u[4] == 45, u[7] == 45, u[10] == 84 || u[10] == 32, u[13] == 58, u[16] == 58,
              let local = AssetView.parseDate(head, endOfDay: false) else { return nil }
        var i = 19
        if i < u.count, u[i] == 46 {
            i += 1
            let start = i
            while i < u.count, (48...57).contains(u[i]) { i += 1 }
            guard i > start else { return nil }
        }
        if i == u.count { return TakenAt(localSeconds: local, utcOffsetMinutes: nil) }
        if u[i] == 90, i + 1 == u.count { return TakenAt(localSeconds: local, utcOffsetMinutes: 0) }
        guard u[i] == 43 || u[i] == 45, u.count - i == 6, u[i + 3] == 58,
              let hh = Int(String(decoding: u[(i + 1)..<(i + 3)], as: UTF8.self)),
              let mm = Int(String(decoding: u[(i + 4)..<(i + 6)], as: UTF8.self)), hh <= 14, mm < 60 else { return nil }
        let off = (hh * 60 + mm) * (u[i] == 45 ? -1 : 1)
        return TakenAt(localSeconds: local, utcOffsetMinutes: Int32(off))
    }

    /// `UTC+2`, `UTC-5:30`, as Immich's exif `timeZone`.
    static func zone(_ minutes: Int32?) -> String? {
        guard let m = minutes else { return nil }
        if m == 0 { return "UTC" }
        let sign = m < 0 ? "-" : "+"
        let a = abs(Int(m))
        return "UTC\(sign)\(a / 60)" + (a % 60 == 0 ? "" : String(format: ":%02d", a % 60))
    }
}

/// Stable UUIDs for what Hearth names by other ids.
enum DerivedID {
    /// The owner of an asset imported before people existed: the importing device, as a UUID.
    static func device(_ d: DeviceID) -> String { UUIDText.derived(d.hash.bytes) }
    /// A tag's UUID: from the BLAKE2b of its name.
    static func tag(_ name: String) -> String { UUIDText.derived(Blake2b.hash256(Array(name.utf8)).bytes) }
}

/// Immich's `AssetResponseDto` (3.3.5) for one asset.
enum AssetDTO {
    static func json(_ a: Asset, tags: [String]) -> JSON {
        let created = a.takenAt.map { ImmichDate.string(seconds: $0.sortSeconds) } ?? ImmichDate.unknown
        let local = a.takenAt.map { ImmichDate.string(seconds: $0.localSeconds) } ?? ImmichDate.unknown
        let isVideo = a.type == "video"
        let visibility = a.archived ? "archive" : "timeline"
        return .object([
            ("id", .string(AssetUUID(a.id).description)),
            ("ownerId", .string(a.owner?.uuid ?? DerivedID.device(a.importedBy))),
            ("libraryId", .null),
            ("type", .string(isVideo ? "VIDEO" : "IMAGE")),
            ("originalFileName", .string(a.fileName)),
            ("originalPath", .string(a.fileName)),
            ("originalMimeType", .optional(a.mimeType)),
            // Immich's checksum: the SHA-1 of the original (base64), recorded at import; empty for an
            // asset no node has computed it for yet, never a value a client could mistake for it.
            ("checksum", .string(a.sha1 ?? "")),
            ("thumbhash", .optional(a.thumbhash)),
            ("fileCreatedAt", .string(created)),
            ("fileModifiedAt", .string(created)),
            ("localDateTime", .string(local)),
            ("createdAt", .string(created)),
            ("updatedAt", .string(created)),
            ("isFavorite", .bool(a.favorite)),
            ("isArchived", .bool(a.archived)),
            ("isTrashed", .bool(a.trashedAt != nil)),
            ("isOffline", .bool(false)),
            ("isEdited", .bool(false)),
            ("hasMetadata", .bool(true)),
            ("resized", .bool(a.thumbnail != nil)),
            ("visibility", .string(visibility)),
            ("duration", isVideo ? .optional(a.durationSeconds.map { Int64(($0 * 1000).rounded()) }) : .null),
            ("width", .optional(a.width)),
            ("height", .optional(a.height)),
            // The motion part of a Live Photo uploaded as its own asset (Immich's way) is that asset.
            ("livePhotoVideoId", a.motionVideo.map { .string(AssetUUID($0.id).description) } ?? .null),
            ("duplicateId", .null),
            ("stack", .null),
            ("people", .array([])),
            ("tags", .array(tags.map(tagJSON))),
            ("exifInfo", exif(a)),
        ])
    }

    static func exif(_ a: Asset) -> JSON {
        .object([
            ("make", .optional(a.make)),
            ("model", .optional(a.model)),
            ("lensModel", .optional(a.lens)),
            ("exifImageWidth", .optional(a.width)),
            ("exifImageHeight", .optional(a.height)),
            ("fileSizeInByte", .int(Int64(a.original.size))),
            ("orientation", .optional(a.orientation.map { String($0) })),
            ("dateTimeOriginal", .optional(a.takenAt.map { ImmichDate.string(seconds: $0.sortSeconds) })),
            ("modifyDate", .optional(a.takenAt.map { ImmichDate.string(seconds: $0.sortSeconds) })),
            ("timeZone", .optional(ImmichDate.zone(a.takenAt?.utcOffsetMinutes))),
            ("fNumber", .optional(a.fNumber)),
            ("focalLength", .optional(a.focalLength)),
            ("iso", .optional(a.iso)),
            ("exposureTime", .optional(a.exposureTime.map(exposure))),
            ("latitude", .optional(a.latitude)),
            ("longitude", .optional(a.longitude)),
            ("city", .null),
            ("state", .null),
            ("country", .null),
            ("description", .string(a.description ?? "")),
            ("projectionType", .optional(a.projection)),
            ("rating", a.rating == 0 ? .null : .int(Int64(a.rating))),
        ])
    }

    /// `1/125` for short exposures, seconds otherwise (as exiftool writes them).
    static func exposure(_ s: Double) -> String {
        if s > 0, s < 1 { return "1/\(Int((1 / s).rounded()))" }
        return s == s.rounded() ? String(Int64(s)) : String(s)
    }

    static func tagJSON(_ name: String) -> JSON {
        .object([
            ("id", .string(DerivedID.tag(name))),
            ("name", .string(name.split(separator: "/").last.map(String.init) ?? name)),
            ("value", .string(name)),
            ("createdAt", .string(ImmichDate.unknown)),
            ("updatedAt", .string(ImmichDate.unknown)),
            ("color", .null),
            ("parentId", name.contains("/") ? .string(DerivedID.tag(String(name[..<name.lastIndex(of: "/")!]))) : .null),
        ])
    }
}
