import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import Node
import ServiceLifecycle

/// Where and how `hearth serve` serves the HTTP API.
public struct HTTPServerOptions: Sendable {
    public var host: String
    public var port: Int
    /// PEM certificate chain and private key: HTTPS when both are given.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Written (atomically) with the port actually bound once the server listens.
    public var portFile: String?
    /// When the API cannot be served (its port is taken), stop the node (true: the address was
    /// asked for) or go on syncing without it, with a warning (false: the default address).
    public var required = true

    public init(host: String = "127.0.0.1", port: Int = 2283, tlsCertificate: String? = nil, tlsKey: String? = nil, portFile: String? = nil) {
        (self.host, self.port, self.tlsCertificate, self.tlsKey, self.portFile) = (host, port, tlsCertificate, tlsKey, portFile)
    }

    /// `HOST:PORT` (`[::1]:2283` for IPv6).
    public static func parse(_ text: String) throws -> (host: String, port: Int) {
        let ep = try PeerEndpoint(parsing: text)
        return (ep.host, ep.port)
    }
}

/// The HTTP API as a companion of the sync daemon: started once the sync listener is up, and on
/// SIGINT/SIGTERM shut down gracefully (in-flight requests finish) before the daemon stops.
public final class HTTPServer: DaemonCompanion, @unchecked Sendable {
    let options: HTTPServerOptions
    let logger: Logger
    private let lock = NSLock()
    private var group: ServiceGroup?
    private var stopping = false
    private var waiting: CheckedContinuation<Void, Never>?

    /// - Parameter logger: the access log and server events (by default `hearth.http`, through the
    ///   process's logging setup).
    public init(options: HTTPServerOptions, logger: Logger = Logger(label: "hearth.http")) throws {
        guard (options.tlsCertificate == nil) == (options.tlsKey == nil) else {
            throw NodeError(.invalidArgument, "--tls-cert and --tls-key go together")
        }
        self.options = options
        self.logger = logger
    }

    public func run(_ daemon: Daemon) async throws {
        let libs = daemon.servedLibraries
        let access = try AccessStore.open(home: libs[0].node.home)
        let api = try HearthAPI(libraries: libs, access: access, peerCount: { [daemon] in daemon.connectedPeerCount }, logger: logger)
        try await run(api)
    }

    /// Serves `api` until `shutdown()`.
    public func run(_ api: HearthAPI) async throws {
        let server: HTTPServerBuilder
        if let cert = options.tlsCertificate, let key = options.tlsKey {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                                   privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                server = try .tls(.http1(configuration: Self.http1), tlsConfiguration: tls)
            } catch {
                throw NodeError(.invalidArgument, "cannot use --tls-cert \(cert) / --tls-key \(key): \(error)")
            }
        } else {
            server = .http1(configuration: Self.http1)
        }
        let portFile = options.portFile
        let logger = self.logger
        let scheme = options.tlsCertificate == nil ? "http" : "https"
        let host = options.host
        let app = Application(
            router: api.router(), server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("serving the HTTP API", metadata: ["url": "\(scheme)://\(host):\(port)/api"])
                if let portFile {
                    let tmp = portFile + ".tmp"
                    if !FileManager.default.createFile(atPath: tmp, contents: Data("\(port)\n".utf8)) || rename(tmp, portFile) != 0 {
                        logger.error("cannot write the HTTP port file", metadata: ["path": "\(portFile)"])
                    }
                }
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger))
        let already = lock.withLock { () -> Bool in
            self.group = group
            return stopping
        }
        if already { return }
        do { try await group.run() } catch {
            let failure = NodeError(.network, "the HTTP API on \(options.host):\(options.port) stopped: \(error)")
            guard !options.required else { throw failure }
            logger.warning("serving without the HTTP API (pass --http HOST:PORT to pick another address, or --http off)",
                           metadata: ["reason": "\(failure.message)"])
            await withCheckedContinuation { c in
                let now = lock.withLock { () -> Bool in
                    if stopping { return true }
                    waiting = c
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    public func shutdown() async {
        let (g, w) = lock.withLock { () -> (ServiceGroup?, CheckedContinuation<Void, Never>?) in
            stopping = true
            defer { waiting = nil }
            return (group, waiting)
        }
        w?.resume()
        await g?.triggerGracefulShutdown()
    }
}

extension HTTPServer {
    /// HTTP/1.1 with `Expect: 100-continue` answered (`ContinueHandler`).
    static var http1: HTTP1Channel.Configuration { .init(additionalChannelHandlers: [ContinueHandler()]) }
}

/// Answers a request that carries `Expect: 100-continue` with `100 Continue` at once, as Immich's
/// server does. curl and other clients send that header with a large upload and otherwise hold
/// the body back for a second before sending it anyway: a second lost on every upload.
final class ContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
           head.headerFields[.expect]?.lowercased() == "100-continue" {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
