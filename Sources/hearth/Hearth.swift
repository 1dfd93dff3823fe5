import ArgumentParser
import Node

/// The `hearth` command: a photo and video library that syncs between a family's devices
/// with no central server.
struct Hearth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "A photo and video library that syncs between your devices, with no server.",
        discussion: """
        Global options: --home DIR (default: $HEARTH_HOME, else ~/.local/share/hearth);
        --library NAME-OR-ID, the library a command works on when the node holds several
        (default: $HEARTH_LIBRARY, else the only library, else the default one; see `hearth libraries`).
        """,
        subcommands: [
            Init.self, Import.self, Assets.self, Show.self, Export.self, Thumbnail.self,
            AlbumCommand.self, Tag.self, Favorite.self, Archive.self, Describe.self, Rate.self,
            Trash.self, Restore.self, EmptyTrash.self, Status.self, Verify.self, Repair.self, GC.self, Thumbhashes.self, MakeSamples.self,
            Serve.self, Sync.self, Invite.self, Join.self, Peers.self, MemberCommand.self, Libraries.self, UserCommand.self, APIKeyCommand.self,
        ]
    )
}

/// Options every command that prints takes. `--home DIR` is global and handled in `Entry`.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
