import Foundation

/// Counts failed logins per client address and per account, in memory: after `maxFailures`
/// failures within `window`, further attempts by that address, or on that account, are refused
/// until the oldest failure leaves the window (a success on an account clears its count).
/// Bounded: at most `maxKeys` addresses and accounts are tracked; the oldest are forgotten first.
public final class LoginLimiter: @unchecked Sendable {
    public let maxFailures: Int
    /// Milliseconds.
    public let window: Int64
    public let maxKeys: Int
    private let lock = NSLock()
    private var failures: [String: [Int64]] = [:]

    /// One limiter for the whole process: every library's logins through it.
    public static let shared = LoginLimiter()

    public init(maxFailures: Int = 10, window: Int64 = 15 * 60 * 1000, maxKeys: Int = 50_000) {
        self.maxFailures = maxFailures
        self.window = window
        self.maxKeys = maxKeys
    }

    private static func keys(address: String?, account: String) -> [String] {
        ["account:" + account.lowercased()] + (address.map { ["address:" + $0] } ?? [])
    }

    /// Seconds to wait before a login by `address` on `account` may be tried, nil when it may now.
    public func retryAfter(address: String?, account: String, now: Int64) -> Int? {
        lock.withLock {
            var wait: Int64? = nil
            for k in Self.keys(address: address, account: account) {
                guard var list = failures[k] else { continue }
                list.removeAll { $0 <= now - window }
                failures[k] = list.isEmpty ? nil : list
                if list.count >= maxFailures, let oldest = list.first {
                    wait = max(wait ?? 0, oldest + window - now)
                }
            }
            return wait.map { Int(($0 + 999) / 1000) }
        }
    }

    public func recordFailure(address: String?, account: String, now: Int64) {
        lock.withLock {
            if failures.count >= maxKeys { prune(now) }
            for k in Self.keys(address: address, account: account) {
                var list = failures[k] ?? []
                list.removeAll { $0 <= now - window }
                list.append(now)
                if list.count > maxFailures { list.removeFirst(list.count - maxFailures) }
                failures[k] = list
            }
        }
    }

    public func recordSuccess(account: String) {
        _ = lock.withLock { failures.removeValue(forKey: "account:" + account.lowercased()) }
    }

    /// Drops expired entries, then the half with the oldest last failure if still full.
    private func prune(_ now: Int64) {
        failures = failures.filter { $0.value.last.map { $0 > now - window } ?? false }
        if failures.count >= maxKeys {
            let keep = failures.sorted { ($0.value.last ?? 0) > ($1.value.last ?? 0) }.prefix(maxKeys / 2)
            failures = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
