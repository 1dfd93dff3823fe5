import ArgumentParser
import CMalloc
import Foundation
import Node

/// Exit codes (the scripting contract): 0 success, 1 some inputs failed but the rest succeeded,
/// 2 usage errors, 3 any other failure.
@main
enum Entry {
    static func main() async {
        // libvips prints decoder warnings for every odd file; import reports failures itself.
        if ProcessInfo.processInfo.environment["HEARTH_DEBUG_MEDIA"] == nil { setenv("VIPS_WARNING", "0", 1) }
        keepLargeBuffersInHeap()
        _ = userFileMask // from here on, what hearth creates is its user's alone
        do {
            var command = try Hearth.parseAsRoot(extractGlobalHome(Array(CommandLine.arguments.dropFirst())))
            tightenHome()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(code(for: error))
        }
    }

    /// A home holds the device's key, the catalog and every photo: nobody else's business. Files
    /// and folders hearth creates get mode 0600 and 0700 (umask 077); files written for the user
    /// (exports, thumbnails) get the user's own umask back (`giveToUser`).
    static let userFileMask: mode_t = umask(0o077)

    /// A home made by an older release (0755) is closed to other users when next used.
    static func tightenHome() {
        let root = Home.resolve(nil).root.path
        var st = stat()
        guard stat(root, &st) == 0, st.st_mode & 0o077 != 0 else { return }
        chmod(root, 0o700)
    }

    /// Chunks, frames and decoded images are buffers of 64 KiB to 8 MiB, made and freed by the
    /// thousand. By default glibc maps each one fresh and unmaps it on free, so every buffer pays
    /// its page faults and zeroing again (a third of a sync's CPU time went there). Buffers up to
    /// 64 MiB come from the heap instead, and freed memory is kept for the next one.
    static func keepLargeBuffersInHeap() {
        mallopt(M_MMAP_THRESHOLD, 64 << 20)
        mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }

    /// `--home DIR` and `--library NAME-OR-ID` are global: they may stand before or after the
    /// subcommand. They are taken out of the arguments here and handed on as `HEARTH_HOME`
    /// (which `Home.resolve` reads) and `HEARTH_LIBRARY` (which `openNode` reads).
    static func extractGlobalHome(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        let globals = ["--home": "HEARTH_HOME", "--library": "HEARTH_LIBRARY"]
        scan: while i < args.count {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            for (flag, variable) in globals {
                if a == flag, i + 1 < args.count {
                    setenv(variable, args[i + 1], 1)
                    i += 2
                    continue scan
                }
                if a.hasPrefix(flag + "=") {
                    setenv(variable, String(a.dropFirst(flag.count + 1)), 1)
                    i += 1
                    continue scan
                }
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func code(for error: any Error) -> Int32 {
        if let e = error as? ExitCode { return e.rawValue }
        let code = Hearth.exitCode(for: error)
        let message = Hearth.fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            return 0
        }
        if !message.isEmpty { FileHandle.standardError.write(Data(("hearth: " + message + "\n").utf8)) }
        return code == .validationFailure ? 2 : 3
    }
}
