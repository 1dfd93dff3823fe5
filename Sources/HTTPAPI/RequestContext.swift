import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basic context plus the client's address,
/// which login counts failures by (the socket's peer; behind a reverse proxy that is the proxy).
public struct HearthRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text (no port), nil when the channel has none.
    public var clientAddress: String? { remoteAddress?.ipAddress }
}
