import Catalog
import Foundation
import HearthCrypto
import Wire

/// How assets, libraries and the node look to users and scripts (the `--json` scripting
/// contract). The CLI prints these values and the HTTP API will serve the same ones, so both
/// speak one vocabulary. It reads the catalog and never changes anything.
public enum AssetView {
    /// One asset as the scripting contract names its fields (every key present, null when unknown).
    public static func json(for a: Asset, in catalog: Catalog) throws -> JSON {
        let albums = try catalog.albums(of: a.id).map { JSON.string($0.name) }
        let tags = try catalog.tags(of: a.id).map(JSON.string)
        return .object([
            ("id", .string(a.id.hex)),
            ("fileName", .string(a.fileName)),
            ("fileNames", .array(a.fileNames.map(JSON.string))),
            ("type", .optional(a.type)),
            ("mimeType", .optional(a.mimeType)),
            ("bytes", .int(Int64(a.original.size))),
            ("takenAt", .optional(a.takenAt.map(iso8601))),
            ("latitude", .optional(a.latitude)),
            ("longitude", .optional(a.longitude)),
            ("altitude", .optional(a.altitude)),
            ("width", .optional(a.width)),
            ("height", .optional(a.height)),
            ("orientation", .optional(a.orientation)),
            ("make", .optional(a.make)),
            ("model", .optional(a.model)),
            ("lens", .optional(a.lens)),
            ("fNumber", .optional(a.fNumber)),
            ("exposureTime", .optional(a.exposureTime)),
            ("iso", .optional(a.iso)),
            ("focalLength", .optional(a.focalLength)),
            ("durationSeconds", .optional(a.durationSeconds)),
            ("projection", .optional(a.projection)),
            ("motion", .bool(a.motion)),
            ("favorite", .bool(a.favorite)),
            ("archived", .bool(a.archived)),
            ("trashed", .bool(a.trashedAt != nil)),
            ("albums", .array(albums)),
            ("tags", .array(tags)),
            ("description", .optional(a.description)),
            ("rating", .int(Int64(a.rating))),
            ("importedBy", .string(a.importedBy.string)),
            ("importedByPerson", .optional(a.importedByPerson)),
            ("thumbnail", .optional(a.thumbnail?.id.hex)),
            ("preview", .optional(a.preview?.id.hex)),
            ("thumbhash", .optional(a.thumbhash)),
        ])
    }

    /// ISO 8601 local date-time with its UTC offset when known: `2019-07-04T12:34:56+02:00`,
    /// or `2019-07-04T12:34:56` when the camera did not record one.
    public static func iso8601(_ t: TakenAt) -> String {
        let secs = t.localSeconds
        let days = Int64((Double(secs) / 86400).rounded(.down))
        let rem = secs - days * 86400
        let (y, m, d) = civil(fromDays: days)
        var s = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, Int(rem / 3600), Int(rem % 3600 / 60), Int(rem % 60))
        if let off = t.utcOffsetMinutes {
            let sign = off < 0 ? "-" : "+"
            s += String(format: "%@%02d:%02d", sign, Int(abs(off) / 60), Int(abs(off) % 60))
        }
        return s
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    /// Parses `YYYY-MM-DD` (start of day) or a full `YYYY-MM-DDTHH:MM:SS` as UTC seconds, for `--from`/`--to`.
    public static func parseDate(_ s: String, endOfDay: Bool) -> Int64? {
        let parts = s.split(whereSeparator: { "-T: ".contains($0) }).map { Int($0) }
        guard parts.count == 3 || parts.count == 6, parts.allSatisfy({ $0 != nil }) else { return nil }
        let p = parts.map { $0! }
        guard (1...12).contains(p[1]), (1...31).contains(p[2]) else { return nil }
        let days = daysFromCivil(p[0], p[1], p[2])
        var secs = days * 86400
        if p.count == 6 { secs += Int64(p[3] * 3600 + p[4] * 60 + p[5]) } else if endOfDay { secs += 86399 }
        return secs
    }

    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// What `hearth status --json` shows of a node and one of its libraries.
    public struct StatusFacts: Sendable {
        public var deviceID: String
        public var deviceName: String
        public var storagePolicy: StoragePolicy
        public var storedBytes: UInt64
        public var chunkCount: Int

        public init(deviceID: String, deviceName: String, storagePolicy: StoragePolicy, storedBytes: UInt64, chunkCount: Int) {
            (self.deviceID, self.deviceName, self.storagePolicy) = (deviceID, deviceName, storagePolicy)
            (self.storedBytes, self.chunkCount) = (storedBytes, chunkCount)
        }
    }

    /// `hearth status --json`: the node and one of its libraries.
    public static func status(_ facts: StatusFacts, catalog: Catalog) throws -> JSON {
        let counts = try catalog.counts()
        let vv = try catalog.versionVector()
        let origin = try catalog.origin()
        return .object([
            ("deviceId", .string(facts.deviceID)),
            ("deviceName", .string(facts.deviceName)),
            ("libraryId", .string(catalog.libraryID.hex)),
            ("epoch", .int(Int64(origin.epoch))),
            ("storagePolicy", .string(facts.storagePolicy.description)),
            ("assetCount", .int(Int64(counts.library + counts.archived + counts.trashed))),
            ("libraryCount", .int(Int64(counts.library))),
            ("archivedCount", .int(Int64(counts.archived))),
            ("trashedCount", .int(Int64(counts.trashed))),
            ("favoriteCount", .int(Int64(counts.favorites))),
            ("albumCount", .int(Int64(counts.albums))),
            ("memberCount", .int(Int64(counts.members))),
            ("storedBytes", .int(Int64(facts.storedBytes))),
            ("chunkCount", .int(Int64(facts.chunkCount))),
            ("catalogDigest", .string(try catalog.digest().hex)),
            ("versionVector", .object(vv.sorted.map { ("\($0.origin.device.string)/\($0.origin.epoch)", .int(Int64($0.seq))) })),
        ])
    }

    /// One library of a node as `hearth libraries --json` lists it.
    public struct LibraryFacts: Sendable {
        public var id: String
        public var name: String
        public var storagePolicy: StoragePolicy
        public var isDefault: Bool
        public var peerCount: Int
        /// Nil when the library's catalog could not be read.
        public var assetCount: Int?

        public init(id: String, name: String, storagePolicy: StoragePolicy, isDefault: Bool, peerCount: Int, assetCount: Int?) {
            (self.id, self.name, self.storagePolicy, self.isDefault) = (id, name, storagePolicy, isDefault)
            (self.peerCount, self.assetCount) = (peerCount, assetCount)
        }
    }

    /// `hearth libraries --json`: every library of the node with its name, policy and whether it
    /// is the default; `assetCount` is null for a library whose catalog could not be read.
    public static func libraries(_ libs: [LibraryFacts]) -> JSON {
        .array(libs.map { lib in
            .object([
                ("id", .string(lib.id)),
                ("name", .string(lib.name)),
                ("storagePolicy", .string(lib.storagePolicy.description)),
                ("default", .bool(lib.isDefault)),
                ("peerCount", .int(Int64(lib.peerCount))),
                ("assetCount", .optional(lib.assetCount)),
            ])
        })
    }
}
