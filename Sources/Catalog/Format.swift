/// Catalog format levels: which change kinds and asset fields a node understands.
///
/// Every change kind and every asset field carries the level it was introduced in. A node that
/// understands level N applies what is at most N and keeps the rest (see `deferred_change`)
/// until it is opened at a higher level; it still verifies, stores, counts and relays batches
/// that carry such changes. A writer encodes a batch as payload version 2 when everything in it
/// is of level 1 (what release 6847644 reads), as version 3 otherwise (SPEC 6.3).
///
/// Adding a change kind or field: give it the next level (`current + 1`, then raise `current`),
/// encode it in `ByteWriter.op`/`ByteWriter.v3Body` and decode it in `ByteReader.op`/`v3Change`,
/// add the table or column it needs by a new named migration, and apply it in `Applier`. Older
/// nodes keep its changes and apply them when upgraded; nothing else changes.
///
/// One trap for a later observed-remove kind: `DeferredChanges.apply` applies kept changes in
/// dot order, and `Applier.removeDots` takes a dot the version vector covers as an add already
/// applied (so it does not remember it as removed). A kept remove applied before its kept add
/// from another origin would then let the add reappear: such a kind must have its kept adds
/// applied before its kept removes (or its removes remember every unmatched dot) on upgrade.
public enum CatalogFormat {
    /// Kinds 1–11 and asset fields 1–29: what release 6847644 understands (payload version 2).
    public static let base: UInt16 = 1
    /// Asset field 30 (`thumbhash`); payload version 3 carries it.
    public static let thumbhash: UInt16 = 2
    /// Kinds 12 (`person`) and 13 (`devicePerson`), asset fields 31 (`owner`) and 32 (`sha1`).
    public static let people: UInt16 = 3
    /// The highest level this build understands.
    public static let current: UInt16 = 3

    /// The level of a change kind (its number on the wire), nil when this build does not know it.
    static func level(kind: UInt64) -> UInt16? {
        switch kind {
        case 1...11: base
        case 12, 13: people
        default: nil
        }
    }

    /// Change kinds that write people or say which person a device belongs to (SPEC 11):
    /// written by admin and member devices only (see `PeopleRules.permits`).
    static let peopleKinds: Set<UInt64> = [12, 13]

    /// Change kinds that read or write the member list: a closed set. Only these can make or
    /// unmake a member or change a role; a kind added later never does, so a node that does not
    /// understand a change can still decide who wrote it and with what right.
    static let membershipKinds: Set<UInt64> = [1, 2, 3]
}

extension AssetField {
    /// The catalog format level this field was introduced in.
    public var format: UInt16 {
        switch self {
        case .thumbhash: CatalogFormat.thumbhash
        case .owner, .sha1: CatalogFormat.people
        default: CatalogFormat.base
        }
    }
}

extension Op {
    /// The change kind's number on the wire.
    var kind: UInt64 {
        switch self {
        case .genesis: 1
        case .memberPut: 2
        case .memberRemove: 3
        case .importAsset: 4
        case .setField: 5
        case .purge: 6
        case .albumSet: 7
        case .albumAdd: 8
        case .albumRemove: 9
        case .tagAdd: 10
        case .tagRemove: 11
        case .person: 12
        case .devicePerson: 13
        }
    }

    /// The level a node needs to understand this change: its kind's and its fields'.
    var format: UInt16 {
        switch self {
        case .importAsset(_, _, _, let fields): fields.map(\.0.format).max() ?? CatalogFormat.base
        case .setField(_, let f, _): f.format
        case .person, .devicePerson: CatalogFormat.people
        default: CatalogFormat.base
        }
    }
}
