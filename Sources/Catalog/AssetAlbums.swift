import Foundation
import GRDB
import HearthCrypto

extension Catalog {
    /// The live albums an asset belongs to, by name.
    public func albums(of id: Hash256) throws -> [Album] {
        try guarded {
            try db.read { db in
                try Self.albums(db, where: "AND al.id IN (SELECT album FROM album_item WHERE asset = ?)", [id.data])
            }
        }
    }
}

extension AssetField {
    /// Why `value` cannot be stored in this field (out of range, wrong kind), or nil when it can.
    /// Importers drop such values from what a file claims instead of refusing the whole photo.
    public func problem(with value: FieldValue) -> String? { validate(self, value) }
}

extension SignedBatch {
    /// The membership context this batch was written against (origin → highest membership
    /// change its author held), or nil when the payload does not decode.
    public var membershipContext: VersionVector? {
        (try? Payload.decode(payload)).map(\.contextVector)
    }
}
