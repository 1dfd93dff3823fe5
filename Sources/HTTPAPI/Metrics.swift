import Foundation
import Prometheus

/// What `GET /metrics` reports (Prometheus text): requests by route, method and status, their
/// latency, bytes served, and the sync peers connected (read from the daemon when it runs one).
public final class APIMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var counters: [String: Counter] = [:]
    private var histograms: [String: DurationHistogram] = [:]
    private let bytes: Counter
    private let uploads: Counter
    private let peers: Gauge
    private let peerCount: @Sendable () -> Int
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]

    init(peerCount: @escaping @Sendable () -> Int) {
        self.peerCount = peerCount
        bytes = registry.makeCounter(descriptor: .init(namespace: "hearth", subsystem: "http", metricName: "response_bytes",
                                                       unitName: "total", helpText: "Response body bytes served (known lengths)"))
        uploads = registry.makeCounter(descriptor: .init(namespace: "hearth", subsystem: "http", metricName: "upload_bytes",
                                                         unitName: "total", helpText: "Request body bytes received by uploads"))
        peers = registry.makeGauge(descriptor: .init(namespace: "hearth", subsystem: "sync", metricName: "peers_connected",
                                                     helpText: "Sync sessions open now"))
    }

    func record(route: String, method: String, status: Int, elapsed: Duration, bytes n: Int) {
        let key = "\(route) \(method) \(status)"
        let (counter, histogram): (Counter, DurationHistogram) = lock.withLock {
            let c = counters[key] ?? registry.makeCounter(
                descriptor: .init(namespace: "hearth", subsystem: "http", metricName: "requests", unitName: "total",
                                  helpText: "HTTP requests by route, method and status"),
                labels: [("route", route), ("method", method), ("status", String(status))])
            counters[key] = c
            let hk = "\(route) \(method)"
            let h = histograms[hk] ?? registry.makeDurationHistogram(
                descriptor: .init(namespace: "hearth", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                  helpText: "HTTP request latency by route"),
                labels: [("route", route), ("method", method)], buckets: Self.buckets)
            histograms[hk] = h
            return (c, h)
        }
        counter.increment()
        histogram.record(elapsed)
        if n > 0 { bytes.increment(by: Int64(n)) }
    }

    /// Counts the bytes of an upload's body.
    func uploaded(bytes n: Int) { if n > 0 { uploads.increment(by: Int64(n)) } }

    /// Counts streamed bytes whose length was not in the headers.
    func served(bytes n: Int) { if n > 0 { bytes.increment(by: Int64(n)) } }

    /// The exposition text.
    func render() -> String {
        peers.set(Double(peerCount()))
        return registry.emitToString()
    }
}
