import ArgumentParser
import Catalog
import Foundation
import HearthCrypto
import Node
import Presentation

/// `hearth user …`: the library's people (Immich's users), who log in to the HTTP API.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "List, add, remove the library's people and set their passwords.",
        discussion: """
        People are kept in the catalog and synced to every device, so a person logs in on whichever
        node is reachable. The first `hearth user add` of a device links the device to the
        library's first person (make it the admin: `--admin`).
        """,
        subcommands: [UserList.self, UserAdd.self, UserPasswd.self, UserRemove.self])
}

/// The shortest password `hearth user` accepts.
let minimumPasswordLength = 8

/// Reads a password: all of standard input (one trailing newline dropped) with
/// `--password-stdin`, else from the terminal with echo off (twice when `confirm`).
func readPassword(stdin: Bool, confirm: Bool) throws -> String {
    let password: String
    if stdin {
        let data = FileHandle.standardInput.readData(ofLength: PasswordHash.lengths.upperBound + 3)
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix("\r") { text.removeLast() }
        password = text
    } else {
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("no terminal to ask for the password on; pass it on standard input with --password-stdin")
        }
        password = try promptHidden("Password: ")
        if confirm, try promptHidden("Repeat the password: ") != password {
            throw ValidationError("the two passwords differ")
        }
    }
    guard !password.isEmpty else { throw ValidationError("the password is empty") }
    guard password.count >= minimumPasswordLength else {
        throw ValidationError("the password is too weak: use at least \(minimumPasswordLength) characters")
    }
    guard PasswordHash.lengths.contains(password.utf8.count) else {
        throw ValidationError("the password is too long: at most \(PasswordHash.lengths.upperBound) bytes")
    }
    return password
}

/// One line from the terminal with echo off (restored afterwards, also on error).
func promptHidden(_ prompt: String) throws -> String {
    FileHandle.standardError.write(Data(prompt.utf8))
    var old = termios()
    guard tcgetattr(STDIN_FILENO, &old) == 0 else { throw ValidationError("cannot read the terminal's settings") }
    var quiet = old
    quiet.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
    defer {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password was typed") }
    return line
}

extension Person {
    func json(devices: [DeviceID]) -> JSON {
        .object([
            ("id", .string(id.uuid)), ("name", .string(name)), ("email", .string(email)), ("isAdmin", .bool(isAdmin)),
            ("avatarColor", .string(avatarColor)), ("hasPassword", .bool(passwordHash != nil)),
            ("createdAt", .int(createdAt)), ("updatedAt", .int(updatedAt)),
            ("devices", .array(devices.map { .string($0.string) })),
        ])
    }
}

struct UserList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the library's people.")
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let people = try node.catalog.people()
        let me = try node.currentPerson()
        let devices = try people.map { try node.catalog.devices(of: $0.id) }
        emit(output.json, .array(zip(people, devices).map { $0.json(devices: $1) })) {
            if people.isEmpty { return "no people yet: add the first with `hearth user add --email … --name … --admin`" }
            return zip(people, devices).map { p, d in
                "\(p.id.uuid)  \(p.email)  \(p.name)" + (p.isAdmin ? "  (admin)" : "") + (p.id == me ? "  (this device)" : "")
                    + (p.passwordHash == nil ? "  (no password)" : "") + (d.isEmpty ? "" : "  devices: \(d.count)")
            }.joined(separator: "\n")
        }
    }
}

struct UserAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a person, asking for their password (or reading it with --password-stdin).")
    @Option(help: "Their email, the login name (unique, compared ignoring case).") var email: String
    @Option(help: "The name shown for them.") var name: String
    @Flag(help: "Make them an admin (the first person should be).") var admin = false
    @Option(help: "Avatar colour: \(Person.avatarColors.joined(separator: ", ")).") var avatarColor = "primary"
    @Flag(help: "Read the password from standard input instead of asking.") var passwordStdin = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard Person.avatarColors.contains(avatarColor) else {
            throw ValidationError("unknown avatar colour \(avatarColor); use one of \(Person.avatarColors.joined(separator: ", "))")
        }
    }

    func run() throws {
        let node = try openNode()
        if try node.catalog.person(email: email) != nil {
            throw NodeError(.conflict, "a person with email \(email) already exists")
        }
        let password = try readPassword(stdin: passwordStdin, confirm: true)
        let p = try node.addPerson(email: email, name: name, password: password, isAdmin: admin, avatarColor: avatarColor)
        let linked = try node.currentPerson() == p.id
        try emit(output.json, p.json(devices: try node.catalog.devices(of: p.id))) {
            "added \(p.name) <\(p.email)>\(p.isAdmin ? " (admin)" : "") as \(p.id.uuid)"
                + (linked ? "; this device now belongs to them" : "")
        }
    }
}

struct UserPasswd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "passwd", abstract: "Set a person's password.")
    @Argument(help: "Their email or id.") var user: String
    @Flag(help: "Read the password from standard input instead of asking.") var passwordStdin = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let p = try node.findPerson(user)
        let password = try readPassword(stdin: passwordStdin, confirm: true)
        try node.setPassword(p.id, password: password)
        // A changed password ends the person's sessions on this node.
        let ended = try AccessStore.open(home: node.home).deleteSessions(library: node.libraryID, person: p.id)
        emit(output.json, .object([("id", .string(p.id.uuid)), ("email", .string(p.email)), ("sessionsEnded", .int(Int64(ended)))])) {
            "password of \(p.email) changed" + (ended > 0 ? "; \(ended) sessions on this node ended" : "")
        }
    }
}

struct UserRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a person; their sessions and API keys on this node end.",
        discussion: "What they added stays in the library.")
    @Argument(help: "Their email or id.") var user: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let p = try node.findPerson(user)
        try node.removePerson(p.id, access: try AccessStore.open(home: node.home))
        emit(output.json, .object([("id", .string(p.id.uuid)), ("email", .string(p.email)), ("removed", .bool(true))])) {
            "removed \(p.name) <\(p.email)>"
        }
    }
}

/// `hearth api-key …`: keys for scripts and Immich clients (`x-api-key`), kept on this node.
struct APIKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key", abstract: "Create, list and revoke API keys (kept on this node only, stored hashed).",
        subcommands: [APIKeyCreate.self, APIKeyList.self, APIKeyRevoke.self])
}

extension APIKey {
    var json: JSON {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("person", .string(person.uuid)),
            ("permissions", .array(permissions.map(JSON.string))), ("createdAt", .int(createdAt)), ("updatedAt", .int(updatedAt)),
        ])
    }
}

struct APIKeyCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an API key for a person; prints its secret once.")
    @Option(help: "The person's email or id.") var user: String
    @Option(help: "A name to recognize the key by.") var name: String
    @Option(name: .customLong("permission"), help: "An Immich permission (repeatable; default all).") var permissions: [String] = []
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let p = try node.findPerson(user)
        let access = try AccessStore.open(home: node.home)
        let (secret, key) = try access.createAPIKey(library: node.libraryID, person: p.id, name: name,
                                                    permissions: permissions.isEmpty ? ["all"] : permissions,
                                                    now: HearthNode.wallClockMillis())
        var json = key.json
        if case .object(var fields) = json {
            fields.insert(("secret", .string(secret)), at: 0)
            json = .object(fields)
        }
        emit(output.json, json) {
            "\(secret)\n(API key \(key.id) \"\(key.name)\" for \(p.email): this is the only time the secret is shown)"
        }
    }
}

struct APIKeyList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List this node's API keys (never their secrets).")
    @Option(help: "Only this person's (email or id).") var user: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let person = try user.map { try node.findPerson($0).id }
        let keys = try AccessStore.open(home: node.home).apiKeys(library: node.libraryID, person: person)
        let people = Dictionary(try node.catalog.people(includingRemoved: true).map { ($0.id, $0.email) }, uniquingKeysWith: { a, _ in a })
        emit(output.json, .array(keys.map(\.json))) {
            keys.isEmpty ? "no API keys on this node" : keys.map {
                "\($0.id)  \($0.name)  \(people[$0.person] ?? $0.person.uuid)  \($0.permissions.joined(separator: ","))"
            }.joined(separator: "\n")
        }
    }
}

struct APIKeyRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an API key by id.")
    @Argument(help: "The key's id (see `hearth api-key list`).") var id: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        try AccessStore.open(home: node.home).deleteAPIKey(id: id)
        emit(output.json, .object([("id", .string(id)), ("revoked", .bool(true))])) { "revoked API key \(id)" }
    }
}
