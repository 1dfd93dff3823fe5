import Foundation
import Synchronization

/// Background work of a node: periodic jobs (announcing local changes, dialling peers; next,
/// recognition, geocoding and watch folders) and long-running tasks they start (one per peer
/// connection), all in one task group that `run()` owns and cancelling it stops.
///
/// Each job's runs, failures and last error are kept for `status()`, so a caller (a status
/// command, a test) can see that a job ran instead of guessing from elapsed time. A job that
/// throws is counted and runs again at its next period; one failing job never stops the others.
public final class JobRunner: Sendable {
    /// What `status()` reports of one job.
    public struct Status: Sendable, Equatable {
        public var name: String
        /// Completed runs (a periodic job's iterations; 1 for a finished task).
        public var runs: Int
        public var failures: Int
        public var lastError: String?
        /// True while a long-running task is under way.
        public var running: Bool
    }

    struct Work: Sendable {
        let name: String
        let body: @Sendable () async -> Void
    }

    private let queue: AsyncStream<Work>
    private let submit: AsyncStream<Work>.Continuation
    private let state = Mutex<[String: Status]>([:])
    private let order = Mutex<[String]>([])

    public init() {
        (queue, submit) = AsyncStream<Work>.makeStream()
    }

    /// Runs `body` now and then every `interval` after each run ends, until the runner stops.
    /// Names are unique: a second job of the same name is refused (a programming error).
    public func every(_ name: String, _ interval: Duration, _ body: @escaping @Sendable () async throws -> Void) {
        register(name)
        submit.yield(Work(name: name) { [self] in
            while !Task.isCancelled {
                do {
                    try await body()
                    update(name) { $0.runs += 1 }
                } catch is CancellationError {
                    return
                } catch {
                    update(name) { $0.runs += 1; $0.failures += 1; $0.lastError = "\(error)" }
                }
                try? await Task.sleep(for: interval)
            }
        })
    }

    /// Starts a long-running task (a connection kept to one peer) beside the jobs.
    public func launch(_ name: String, _ body: @escaping @Sendable () async -> Void) {
        register(name, allowRepeat: true)
        update(name) { $0.running = true }
        submit.yield(Work(name: name) { [self] in
            await body()
            update(name) { $0.running = false; $0.runs += 1 }
        })
    }

    /// Runs every job and task submitted, before or during the call, until the calling task is
    /// cancelled; returns once all of them have ended.
    public func run() async {
        await withDiscardingTaskGroup { group in
            // The stream ends when this task is cancelled; the children are cancelled with it.
            for await work in queue {
                if Task.isCancelled { break }
                group.addTask { await work.body() }
            }
            group.cancelAll()
        }
    }

    /// Every job and task so far, in the order they were first submitted.
    public func status() -> [Status] {
        let names = order.withLock { $0 }
        return state.withLock { s in names.compactMap { s[$0] } }
    }

    /// One job's status, nil before it was submitted.
    public func status(of name: String) -> Status? { state.withLock { $0[name] } }

    private func register(_ name: String, allowRepeat: Bool = false) {
        let known = state.withLock { s in
            if s[name] != nil { return true }
            s[name] = Status(name: name, runs: 0, failures: 0, lastError: nil, running: false)
            return false
        }
        precondition(!known || allowRepeat, "a job named \(name) is already registered")
        if !known { order.withLock { $0.append(name) } }
    }

    private func update(_ name: String, _ change: (inout Status) -> Void) {
        state.withLock { s in if s[name] != nil { change(&s[name]!) } }
    }
}
