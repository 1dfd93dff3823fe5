/// One line of `simulations/regressions.txt`: `SEED [nodes=N] [steps=S] [tcp]  # what it found`.
public struct Regression: Sendable, Equatable {
    public let seed: UInt64
    public let nodes: Int?
    public let steps: Int?
    public let note: String
    /// Runs with `SimOptions.tcpLike`.
    public var tcpLike = false

    /// Parses the file's text; blank lines and lines starting with `#` are skipped.
    public static func parse(_ text: String) throws -> [Regression] {
        var out: [Regression] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = raw.split(separator: "#", maxSplits: 1)
            let body = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard !body.isEmpty, !raw.trimmingCharacters(in: .whitespaces).hasPrefix("#") else { continue }
            let words = body.split(separator: " ")
            guard let seed = UInt64(words[0]) else {
                throw SimFailure("regressions.txt line \(i + 1): \"\(words[0])\" is not a seed")
            }
            var nodes: Int?, steps: Int?, tcp = false
            for w in words.dropFirst() {
                if w == "tcp" {
                    tcp = true
                    continue
                }
                let kv = w.split(separator: "=")
                guard kv.count == 2, let v = Int(kv[1]) else {
                    throw SimFailure("regressions.txt line \(i + 1): expected nodes=N, steps=S or tcp, got \"\(w)\"")
                }
                switch kv[0] {
                case "nodes" where (2...10).contains(v): nodes = v
                case "steps" where v >= 0 && v <= 1_000_000: steps = v
                default: throw SimFailure("regressions.txt line \(i + 1): \"\(w)\" is out of range or unknown")
                }
            }
            let note = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            out.append(Regression(seed: seed, nodes: nodes, steps: steps, note: note, tcpLike: tcp))
        }
        return out
    }
}

extension Substring {
    func trimmingCharacters(in _: CharacterSetLike) -> String {
        var s = self[...]
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}

/// Stands in for Foundation's `.whitespaces` so the simulator needs no Foundation.
enum CharacterSetLike { case whitespaces }
