import Foundation

/// Makes derived images for many files with a fixed number of worker threads.
///
/// Memory stays bounded: each worker holds at most one decoded preview (shrink-on-load and
/// sequential access keep even a 200-megapixel JPEG's decode to a few strips), and results
/// are handed to `onResult` as they finish rather than collected. libvips' own thread count
/// per pipeline is set so that workers × vips threads ≈ cores. Decoding is blocking C work,
/// so it runs on dedicated threads, not on Swift's cooperative pool.
public enum IngestPool {
    public struct Item: Sendable {
        public var path: String
        public var kind: SourceKind

        public init(path: String, kind: SourceKind) {
            self.path = path
            self.kind = kind
        }
    }

    /// The default worker count: one per core.
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Processes `items` with `workers` threads and returns when all are done.
    /// `onResult(index, result)` is called on a worker thread, once per item, in completion order.
    public static func run(_ items: [Item], workers: Int = defaultWorkers,
                           timeLimit: Duration = DerivedImages.defaultTimeLimit,
                           onResult: @escaping @Sendable (Int, Result<Derived, DerivedImageError>) -> Void) {
        precondition(workers >= 1, "workers must be at least 1")
        DerivedImages.configure(workers: workers)
        let queue = WorkQueue(count: items.count)
        let done = DispatchGroup()
        for number in 0..<min(workers, max(1, items.count)) {
            done.enter()
            let thread = Thread {
                while let index = queue.next() {
                    let item = items[index]
                    do {
                        onResult(index, .success(try DerivedImages.make(path: item.path, kind: item.kind, timeLimit: timeLimit)))
                    } catch let error as DerivedImageError {
                        onResult(index, .failure(error))
                    } catch {
                        onResult(index, .failure(DerivedImageError(.corrupt, path: item.path, "\(error)")))
                    }
                }
                done.leave()
            }
            thread.name = "hearth-derived-\(number)"
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
    }

    private final class WorkQueue: @unchecked Sendable {
        private let lock = NSLock()
        private var cursor = 0
        private let count: Int

        init(count: Int) { self.count = count }

        func next() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard cursor < count else { return nil }
            cursor += 1
            return cursor - 1
        }
    }
}
