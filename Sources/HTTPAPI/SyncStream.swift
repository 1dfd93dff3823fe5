import Catalog
import Foundation
import HearthCrypto
import Presentation

/// The names of Immich 3.3.5's sync stream (`SyncRequestType`, `SyncEntityType`) and the order
/// its server streams the requested types in: parents before children, so a client's foreign
/// keys always find their row (`SYNC_TYPES_ORDER`, with the 3.3.5 additions placed beside their
/// older versions).
enum SyncNames {
    /// Every request type 3.3.5 accepts, in streaming order.
    static let requestOrder = [
        "AuthUsersV1", "AuthUsersV2", "UsersV1", "PartnersV1", "AssetsV1", "AssetsV2", "StacksV1",
        "PartnerAssetsV1", "PartnerAssetsV2", "PartnerStacksV1", "AlbumAssetsV1", "AlbumAssetsV2",
        "AlbumsV1", "AlbumsV2", "AlbumUsersV1", "AlbumToAssetsV1", "AssetExifsV1", "AlbumAssetExifsV1",
        "AssetOcrV1", "PartnerAssetExifsV1", "MemoriesV1", "MemoriesV2", "MemoryToAssetsV1", "MemoryToAssetsV2",
        "PeopleV1", "AssetFacesV1", "AssetFacesV2", "AssetFacesV3", "UserMetadataV1", "AssetMetadataV1",
        "AssetEditsV1",
    ]
    static let requestTypes = Set(requestOrder)

    /// Every entity type 3.3.5 names (what an ack may carry).
    static let entityTypes: Set<String> = [
        "AuthUserV1", "AuthUserV2", "UserV1", "UserDeleteV1", "AssetV1", "AssetV2", "AssetDeleteV1", "AssetExifV1",
        "AssetEditV1", "AssetEditDeleteV1", "AssetMetadataV1", "AssetMetadataDeleteV1", "AssetOcrV1", "AssetOcrDeleteV1",
        "PartnerV1", "PartnerDeleteV1", "PartnerAssetV1", "PartnerAssetV2", "PartnerAssetBackfillV1",
        "PartnerAssetBackfillV2", "PartnerAssetDeleteV1", "PartnerAssetExifV1", "PartnerAssetExifBackfillV1",
        "PartnerStackBackfillV1", "PartnerStackDeleteV1", "PartnerStackV1", "AlbumV1", "AlbumV2", "AlbumDeleteV1",
        "AlbumUserV1", "AlbumUserBackfillV1", "AlbumUserDeleteV1", "AlbumAssetCreateV1", "AlbumAssetCreateV2",
        "AlbumAssetUpdateV1", "AlbumAssetUpdateV2", "AlbumAssetBackfillV1", "AlbumAssetBackfillV2",
        "AlbumAssetExifCreateV1", "AlbumAssetExifUpdateV1", "AlbumAssetExifBackfillV1", "AlbumToAssetV1",
        "AlbumToAssetDeleteV1", "AlbumToAssetBackfillV1", "MemoryV1", "MemoryV2", "MemoryDeleteV1", "MemoryToAssetV1",
        "MemoryToAssetV2", "MemoryToAssetDeleteV1", "StackV1", "StackDeleteV1", "PersonV1", "PersonDeleteV1",
        "AssetFaceV1", "AssetFaceV2", "AssetFaceV3", "AssetFaceDeleteV1", "UserMetadataV1", "UserMetadataDeleteV1",
        "SyncAckV1", "SyncResetV1", "SyncCompleteV1",
    ]
}

/// A stream line's `updateId`: the change feed number (`ChangeFeed`) shaped as a UUIDv7, so it
/// sorts as the number does: bytes 0-5 hold the number (big-endian, below 2^48), then the
/// version 7 and variant bits, and zeros.
enum SyncUpdateID {
    static func string(_ seq: Int64) -> String {
        var b = [UInt8](repeating: 0, count: 16)
        let v = UInt64(max(0, min(seq, (1 << 48) - 1)))
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: v >> (8 * (5 - i))) }
        b[6] = 0x70
        b[8] = 0x80
        return UUIDText.format(b)
    }

    /// The number an updateId this server wrote carries; nil for anything else.
    static func parse(_ s: String) -> Int64? {
        guard let b = UUIDText.parse(s), b[6] == 0x70, b[7] == 0, b[8] == 0x80, b[9...].allSatisfy({ $0 == 0 }) else { return nil }
        var v: Int64 = 0
        for i in 0..<6 { v = v << 8 | Int64(b[i]) }
        return v
    }
}

/// One checkpoint: `Type|updateId[|extraId]`, as the client acks a line.
struct SyncAck: Sendable, Equatable {
    let type: String
    let seq: Int64
    let text: String

    static let maxLength = 256

    /// Parses and checks an ack: a known entity type and an updateId this server wrote
    /// (`SyncResetV1|reset` too). The error is Immich's 400.
    static func parse(_ text: String) throws -> SyncAck {
        guard text.utf8.count <= maxLength else { throw APIError.badRequest("Invalid ack: longer than \(maxLength) bytes") }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else { throw APIError.badRequest("Invalid ack: \(text)") }
        guard SyncNames.entityTypes.contains(parts[0]) else { throw APIError.badRequest("Invalid ack type: \(parts[0])") }
        if parts[0] == "SyncResetV1" { return SyncAck(type: parts[0], seq: 0, text: text) }
        guard let seq = SyncUpdateID.parse(parts[1]) else {
            throw APIError.badRequest("Invalid ack: \(text) (not an updateId this server wrote)")
        }
        return SyncAck(type: parts[0], seq: seq, text: text)
    }

    static func make(_ type: String, _ seq: Int64) -> String { "\(type)|\(SyncUpdateID.string(seq))" }
}

/// The JSON of each stream entity, as Immich 3.3.5's `Sync*` DTOs name their fields.
enum SyncDTO {
    static func line(_ type: String, _ data: JSON, ack: String) -> String {
        JSON.object([("type", .string(type)), ("data", data), ("ack", .string(ack))]).serialized() + "\n"
    }

    /// Immich's checksum: the SHA-1 of the original, base64 (empty for an asset imported before
    /// Hearth kept SHA-1s and not backfilled yet, never a value a client could mistake for one).
    static func checksum(_ a: Asset) -> String { a.sha1 ?? "" }

    /// `SyncAssetV1` (`duration` as `H:MM:SS.ffffff`) and `SyncAssetV2` (`duration` in ms).
    static func asset(_ a: Asset, owner: PersonID, v2: Bool) -> JSON {
        let isVideo = a.type == "video"
        let created = a.takenAt.map { JSON.string(ImmichDate.string(seconds: $0.sortSeconds)) } ?? .null
        let local = a.takenAt.map { JSON.string(ImmichDate.string(seconds: $0.localSeconds)) } ?? .null
        let duration: JSON
        if isVideo, let s = a.durationSeconds, s.isFinite, s >= 0 {
            duration = v2 ? .int(Int64(min((s * 1000).rounded(), 2_147_483_647))) : .string(durationText(s))
        } else {
            duration = .null
        }
        return .object([
            ("id", .string(AssetUUID(a.id).description)),
            ("ownerId", .string(owner.uuid)),
            ("originalFileName", .string(a.fileName)),
            ("thumbhash", .optional(a.thumbhash)),
            ("checksum", .string(checksum(a))),
            ("fileCreatedAt", created),
            ("fileModifiedAt", created),
            ("localDateTime", local),
            ("duration", duration),
            ("type", .string(isVideo ? "VIDEO" : "IMAGE")),
            ("deletedAt", a.trashedAt.map { .string(ImmichDate.string(millis: $0)) } ?? .null),
            ("isFavorite", .bool(a.favorite)),
            ("visibility", .string(a.archived ? "archive" : "timeline")),
            ("livePhotoVideoId", .null),
            ("stackId", .null),
            ("libraryId", .null),
            ("width", .optional(a.width)),
            ("height", .optional(a.height)),
            ("isEdited", .bool(false)),
            ("createdAt", created),
        ])
    }

    /// `0:00:05.000000`, as Immich 1.x and 2.x wrote a video's duration.
    static func durationText(_ s: Double) -> String {
        let micros = Int(min((s * 1_000_000).rounded(), 1e15))
        let h = micros / 3_600_000_000, m = micros / 60_000_000 % 60, sec = micros / 1_000_000 % 60, us = micros % 1_000_000
        return "\(h):" + String(format: "%02ld:%02ld.%06ld", m, sec, us)
    }

    /// `SyncAssetExifV1`.
    static func exif(_ a: Asset) -> JSON {
        let taken = a.takenAt.map { JSON.string(ImmichDate.string(seconds: $0.sortSeconds)) } ?? .null
        return .object([
            ("assetId", .string(AssetUUID(a.id).description)),
            ("description", .string(a.description ?? "")),
            ("exifImageWidth", .optional(a.width)),
            ("exifImageHeight", .optional(a.height)),
            ("fileSizeInByte", .int(Int64(min(a.original.size, 9_007_199_254_740_991)))),
            ("orientation", .optional(a.orientation.map { String($0) })),
            ("dateTimeOriginal", taken),
            ("modifyDate", taken),
            ("timeZone", .optional(ImmichDate.zone(a.takenAt?.utcOffsetMinutes))),
            ("latitude", .optional(a.latitude)),
            ("longitude", .optional(a.longitude)),
            ("projectionType", .optional(a.projection)),
            ("city", .null),
            ("state", .null),
            ("country", .null),
            ("make", .optional(a.make)),
            ("model", .optional(a.model)),
            ("lensModel", .optional(a.lens)),
            ("fNumber", .optional(a.fNumber)),
            ("focalLength", .optional(a.focalLength)),
            ("iso", .optional(a.iso)),
            ("exposureTime", .optional(a.exposureTime.map(AssetDTO.exposure))),
            ("profileDescription", .null),
            ("rating", a.rating == 0 ? .null : .int(Int64(a.rating))),
            ("fps", .null),
        ])
    }

    /// `SyncAlbumV1` (with `ownerId`) or `SyncAlbumV2`.
    static func album(_ a: FeedAlbum, owner: String, v2: Bool) -> JSON {
        var fields: [(String, JSON)] = [
            ("id", .string(a.id.uuid)),
            ("name", .string(a.name)),
            ("description", .string(a.description ?? "")),
            ("createdAt", .string(ImmichDate.unknown)),
            ("updatedAt", .string(ImmichDate.unknown)),
            ("thumbnailAssetId", a.cover.map { .string(AssetUUID($0).description) } ?? .null),
            ("isActivityEnabled", .bool(false)),
            ("order", .string("desc")),
        ]
        if !v2 { fields.insert(("ownerId", .string(owner)), at: 1) }
        return .object(fields)
    }

    /// `SyncUserV1`, and with `auth` the fields of `SyncAuthUserV1`/`V2`.
    static func user(_ p: Person, auth: Bool) -> JSON {
        var fields: [(String, JSON)] = [
            ("id", .string(p.id.uuid)),
            ("name", .string(p.name)),
            ("email", .string(p.email)),
            ("avatarColor", Person.avatarColors.contains(p.avatarColor) ? .string(p.avatarColor) : .null),
            ("deletedAt", .null),
            ("hasProfileImage", .bool(false)),
            ("profileChangedAt", .string(ImmichDate.string(millis: p.createdAt))),
        ]
        if auth {
            fields += [
                ("isAdmin", .bool(p.isAdmin)),
                ("oauthId", .string("")),
                ("pinCode", .null),
                ("quotaSizeInBytes", .null),
                ("quotaUsageInBytes", .int(0)),
                ("storageLabel", .null),
            ]
        }
        return .object(fields)
    }
}
