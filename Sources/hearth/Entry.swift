import ArgumentParser
import Foundation
import Node

/// Exit codes (the scripting contract): 0 success, 1 some inputs failed but the rest succeeded,
/// 2 usage errors, 3 any other failure.
@main
enum Entry {
    static func main() async {
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try Hearth.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(code(for: error))
        }
    }

    static func code(for error: any Error) -> Int32 {
        if let e = error as? PartialFailure { return e.exitCode }
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

/// Thrown after a command printed its summary, when some inputs failed but others succeeded.
struct PartialFailure: Error {
    var exitCode: Int32 { 1 }
}
