import ArgumentParser
import Catalog
import Foundation
import HearthCrypto
import Node
import Presentation

/// Applies one edit per asset argument as one signed batch and prints what changed.
func editAssets(_ prefixes: [String], json: Bool, verb: String, _ edit: (Hash256) -> Edit) throws {
    let node = try openNode()
    let ids = try resolveAll(node, prefixes).map(\.id)
    try node.commit(ids.map(edit))
    emit(json, .object([("updated", .array(ids.map { .string($0.hex) }))])) {
        "\(verb) \(ids.count) asset\(ids.count == 1 ? "" : "s")"
    }
}

struct Favorite: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mark assets as favorites (--off to unmark).")
    @Argument var assets: [String]
    @Flag var off = false
    @OptionGroup var output: OutputOptions
    func run() throws { try editAssets(assets, json: output.json, verb: off ? "unfavorited" : "favorited") { .setFavorite($0, !off) } }
}

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Archive assets: hidden from the library, kept (--off to unarchive).")
    @Argument var assets: [String]
    @Flag var off = false
    @OptionGroup var output: OutputOptions
    func run() throws { try editAssets(assets, json: output.json, verb: off ? "unarchived" : "archived") { .setArchived($0, !off) } }
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Set an asset's description (empty text clears it).")
    @Argument var asset: String
    @Argument var text: String
    @OptionGroup var output: OutputOptions
    func run() throws {
        guard text.utf8.count <= 10_000 else { throw ValidationError("a description is at most 10000 bytes") }
        try editAssets([asset], json: output.json, verb: "described") { .setDescription($0, text.isEmpty ? nil : text) }
    }
}

struct Rate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rate an asset from 0 (unrated) to 5 stars.")
    @Argument var asset: String
    @Argument var rating: Int
    @OptionGroup var output: OutputOptions
    func validate() throws { guard (0...5).contains(rating) else { throw ValidationError("rating must be 0...5") } }
    func run() throws { try editAssets([asset], json: output.json, verb: "rated") { .setRating($0, rating) } }
}

struct Trash: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Move assets to the trash.")
    @Argument var assets: [String]
    @OptionGroup var output: OutputOptions
    func run() throws { try editAssets(assets, json: output.json, verb: "trashed") { .trash($0) } }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take assets out of the trash.")
    @Argument var assets: [String]
    @OptionGroup var output: OutputOptions
    func run() throws { try editAssets(assets, json: output.json, verb: "restored") { .restore($0) } }
}

struct EmptyTrash: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empty-trash",
        abstract: "Permanently delete everything in the trash, on every device; `hearth gc` then frees the space.")
    @OptionGroup var output: OutputOptions
    func run() throws {
        let node = try openNode()
        let trashed = try node.catalog.assets(AssetFilter(scope: .trashed))
        if !trashed.isEmpty { try node.commit(trashed.map { .purge($0.id) }) }
        emit(output.json, .object([("purged", .int(Int64(trashed.count)))])) {
            "permanently deleted \(trashed.count) asset\(trashed.count == 1 ? "" : "s"); run `hearth gc` to free the space"
        }
    }
}

struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add or remove hierarchical tags such as Places/Japan.",
        subcommands: [Add.self, Remove.self, List.self])

    /// Adds or removes tags on one asset as one signed batch, then prints the asset's tags.
    static func change(_ asset: String, _ tags: [String], json: Bool, verb: String, _ edit: (Hash256, String) -> Edit) throws {
        let node = try openNode()
        let id = try node.resolve(asset)
        try node.commit(tags.map { edit(id, $0) })
        try emit(json, .object([("asset", .string(id.hex)), ("tags", .array(try node.catalog.tags(of: id).map(JSON.string)))])) {
            "\(verb) \(id.hex.prefix(12)): \(tags.joined(separator: ", "))"
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tag an asset.")
        @Argument var asset: String
        @Argument var tags: [String]
        @OptionGroup var output: OutputOptions
        func run() throws { try Tag.change(asset, tags, json: output.json, verb: "tagged") { .addTag($0, $1) } }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove tags from an asset.")
        @Argument var asset: String
        @Argument var tags: [String]
        @OptionGroup var output: OutputOptions
        func run() throws { try Tag.change(asset, tags, json: output.json, verb: "untagged") { .removeTag($0, $1) } }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tags with how many assets carry each.")
        @OptionGroup var output: OutputOptions
        func run() throws {
            let tags = try openNode().catalog.tags()
            emit(output.json, .array(tags.map { .object([("tag", .string($0.tag)), ("count", .int(Int64($0.count)))]) })) {
                tags.isEmpty ? "no tags" : tags.map { "\($0.tag)  (\($0.count))" }.joined(separator: "\n")
            }
        }
    }
}

struct AlbumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "album", abstract: "Create, rename, fill and delete albums.",
        subcommands: [Create.self, Rename.self, Add.self, Remove.self, List.self, Delete.self])

    static func json(_ a: Album) -> JSON {
        .object([("id", .string(a.id.hex)), ("name", .string(a.name)), ("description", .optional(a.description)),
                 ("cover", .optional(a.cover?.hex)), ("assetCount", .int(Int64(a.assetCount)))])
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an album.")
        @Argument var name: String
        @Option(help: "A description.") var description: String?
        @OptionGroup var output: OutputOptions
        func run() throws {
            let node = try openNode()
            let id = AlbumID.version4(secureRandomBytes(16))
            var edits: [Edit] = [.createAlbum(id, name: name)]
            if let d = description { edits.append(.describeAlbum(id, d)) }
            try node.commit(edits)
            let a = try node.catalog.album(id.hex)
            emit(output.json, AlbumCommand.json(a)) { "created album \"\(name)\" (\(id.hex.prefix(8)))" }
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an album.")
        @Argument var album: String
        @Argument var newName: String
        @OptionGroup var output: OutputOptions
        func run() throws {
            let node = try openNode()
            let a = try node.catalog.album(album)
            try node.commit([.renameAlbum(a.id, newName)])
            try emit(output.json, AlbumCommand.json(try node.catalog.album(a.id.hex))) { "renamed \"\(a.name)\" to \"\(newName)\"" }
        }
    }

    /// Adds or removes assets in one album as one signed batch.
    static func change(_ album: String, _ assets: [String], json: Bool, verb: String,
                       _ edit: (AlbumID, Hash256) -> Edit) throws {
        let node = try openNode()
        let a = try node.catalog.album(album)
        let ids = try resolveAll(node, assets).map(\.id)
        try node.commit(ids.map { edit(a.id, $0) })
        try emit(json, AlbumCommand.json(try node.catalog.album(a.id.hex))) { "\(verb) \(ids.count) \(verb == "added" ? "to" : "from") \"\(a.name)\"" }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add assets to an album.")
        @Argument var album: String
        @Argument var assets: [String]
        @OptionGroup var output: OutputOptions
        func run() throws { try AlbumCommand.change(album, assets, json: output.json, verb: "added") { .addToAlbum($0, $1) } }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove assets from an album.")
        @Argument var album: String
        @Argument var assets: [String]
        @OptionGroup var output: OutputOptions
        func run() throws { try AlbumCommand.change(album, assets, json: output.json, verb: "removed") { .removeFromAlbum($0, $1) } }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List albums.")
        @OptionGroup var output: OutputOptions
        func run() throws {
            let albums = try openNode().catalog.albums()
            emit(output.json, .array(albums.map(AlbumCommand.json))) {
                albums.isEmpty ? "no albums" : albums.map { "\($0.id.hex.prefix(8))  \($0.name)  (\($0.assetCount))" }.joined(separator: "\n")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an album (its photos stay in the library).")
        @Argument var album: String
        @OptionGroup var output: OutputOptions
        func run() throws {
            let node = try openNode()
            let a = try node.catalog.album(album)
            try node.commit([.deleteAlbum(a.id)])
            emit(output.json, .object([("deleted", .string(a.id.hex))])) { "deleted album \"\(a.name)\"" }
        }
    }
}
