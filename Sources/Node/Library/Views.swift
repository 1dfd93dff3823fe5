import Catalog
import Presentation

/// The presentation layer as the library service's own calls (the CLI's spelling).
extension HearthNode {
    public func json(for a: Asset) throws -> JSON { try AssetView.json(for: a, in: catalog) }

    /// `hearth status --json` for this library.
    public func statusJSON() throws -> JSON {
        let stats = try chunks.stats()
        return try AssetView.status(.init(deviceID: identity.deviceID.string, deviceName: config.deviceName,
                                          storagePolicy: storagePolicy, storedBytes: UInt64(stats.storedBytes),
                                          chunkCount: Int(stats.chunkCount)), catalog: catalog)
    }

    /// `hearth libraries --json` for the node in `home`: every library, with its asset count
    /// when its catalog opens.
    public static func librariesJSON(_ config: NodeConfig, in home: Home) -> JSON {
        AssetView.libraries(config.libraries.map { lib in
            let count = (try? HearthNode.open(home: home, library: lib.id)).flatMap { node in
                (try? node.catalog.counts()).map { $0.library + $0.archived + $0.trashed }
            }
            return .init(id: lib.id, name: lib.name, storagePolicy: lib.storagePolicy, isDefault: config.defaultLibrary == lib.id,
                         peerCount: lib.peers.count, assetCount: count)
        })
    }

    public static func iso8601(_ t: TakenAt) -> String { AssetView.iso8601(t) }
    public static func parseDate(_ s: String, endOfDay: Bool) -> Int64? { AssetView.parseDate(s, endOfDay: endOfDay) }
}
