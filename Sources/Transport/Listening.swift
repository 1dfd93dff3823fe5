import HearthCrypto
import Wire

/// Where peers can dial this node, and where a peer says it can be dialled (SPEC "Listening").
///
/// A node that accepts connections announces its port after the Hellos; the receiver pairs it
/// with the IP address the connection came from, which is how the inviter of a device that only
/// ever connected inbound learns an address to dial it at.
extension SyncContext {
    /// The Listening message this context announces, or nil when it does not listen.
    var listening: Listening? {
        guard let port = listenPort else { return nil }
        precondition((1...65535).contains(port), "listenPort \(port) is not a TCP port (a server resolves 0 itself)")
        let listed = Array(listenAddresses.filter(Listening.isValidAddress).prefix(MessageLimits.maxListeningAddresses))
        return Listening(port: UInt16(port), addresses: listed)
    }
}

extension Connection {
    /// Tells the observer where the peer of this connection accepts connections.
    func reportListening(_ l: Listening, from device: DeviceID) {
        let endpoints = Self.endpoints(of: l, seenAt: peerAddress)
        logger.debug("peer listens", metadata: ["endpoints": "\(endpoints.joined(separator: " "))"])
        context.observer?(.listening(device: device, endpoints: endpoints))
    }

    /// The connection's remote host (from `host:port` or `[v6]:port`) with the announced port,
    /// then the listed addresses, without duplicates. An IPv4 client seen through an IPv6 socket
    /// (`::ffff:a.b.c.d`) is given as plain IPv4.
    static func endpoints(of l: Listening, seenAt address: String) -> [String] {
        var out: [String] = []
        if let colon = address.lastIndex(of: ":") {
            var host = String(address[..<colon])
            if host.hasPrefix("[::ffff:"), host.hasSuffix("]"), host.contains(".") {
                host = String(host.dropFirst(8).dropLast())
            }
            let seen = "\(host):\(l.port)"
            if Listening.isValidAddress(seen) { out.append(seen) }
        }
        for a in l.addresses where !out.contains(a) { out.append(a) }
        return out
    }
}
