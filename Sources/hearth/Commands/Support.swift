import ArgumentParser
import Catalog
import Foundation
import Node
import Presentation
import Wire

/// Opens the library `--library` names (else the only or the default one) of the node in the
/// resolved home, or fails with a message that says what to do.
func openNode() throws -> HearthNode {
    try HearthNode.open(home: Home.resolve(nil), library: selectedLibrary)
}

/// `--library NAME-OR-ID`, global like `--home` (see `Entry`), handed on as `HEARTH_LIBRARY`.
var selectedLibrary: String? {
    ProcessInfo.processInfo.environment["HEARTH_LIBRARY"].flatMap { $0.isEmpty ? nil : $0 }
}

extension StoragePolicy: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
}

/// Prints JSON (`--json`) or the text a person reads.
func emit(_ json: Bool, _ value: @autoclosure () throws -> JSON, text: () throws -> String) rethrows {
    if json { print(try value().serialized(pretty: true)) } else {
        let t = try text()
        if !t.isEmpty { print(t) }
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data(("hearth: " + message + "\n").utf8))
}

/// Resolves every asset argument (unique id prefixes) before any change is made.
func resolveAll(_ node: HearthNode, _ prefixes: [String]) throws -> [Hash256Ref] {
    try prefixes.map { Hash256Ref(id: try node.resolve($0)) }
}

import HearthCrypto
struct Hash256Ref { let id: Hash256 }

/// A one-line description of an asset for text listings.
func line(_ node: HearthNode, _ a: Asset) -> String {
    let date = a.takenAt.map(HearthNode.iso8601) ?? "(no date)"
    var flags = ""
    if a.favorite { flags += "♥" }
    if a.archived { flags += "A" }
    if a.trashedAt != nil { flags += "T" }
    if a.motion { flags += "M" }
    let dims = (a.width != nil && a.height != nil) ? "\(a.width!)×\(a.height!)" : ""
    return "\(a.id.hex.prefix(12))  \(date.padding(toLength: 25, withPad: " ", startingAt: 0)) "
        + "\(flags.padding(toLength: 3, withPad: " ", startingAt: 0)) \(dims.padding(toLength: 11, withPad: " ", startingAt: 0)) \(a.fileName)"
}

/// Gives a file or folder written for the user (an export, a thumbnail) the mode the user's own
/// umask would have given it: hearth itself creates everything private (`Entry.userFileMask`).
func giveToUser(_ path: String) {
    var st = stat()
    guard stat(path, &st) == 0 else { return }
    let isDir = (st.st_mode & S_IFMT) == S_IFDIR
    chmod(path, (isDir ? 0o777 : 0o666) & ~Entry.userFileMask)
}
