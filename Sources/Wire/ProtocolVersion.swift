/// Protocol versions and how two nodes agree on one (SPEC section 6.4).
///
/// Each Hello announces the highest version its sender speaks; the lowest each side accepts
/// stays local (Hello's layout is fixed: a release-6847644 node refuses trailing bytes). Both
/// sides then speak the lower of the two maxima, and a side that does not accept that version
/// closes with `unsupported-version`. The handshake before Hello (preamble, Noise prologue) is
/// the same in every version.
public enum ProtocolVersion {
    /// Batches with payload version 2 only (release 6847644).
    public static let v1: UInt16 = 1
    /// Also accepts batches with payload version 3 (length-delimited changes and import fields).
    public static let v2: UInt16 = 2

    /// The version a session with the sender of `peer` speaks, or nil when it is below `localMin`.
    public static func negotiate(localMin: UInt16 = MessageLimits.minimumProtocolVersion,
                                 localMax: UInt16 = MessageLimits.protocolVersion, peer: Hello) -> UInt16? {
        let version = min(peer.protocolVersion, localMax)
        return version >= localMin ? version : nil
    }

    /// Whether a peer speaking `version` accepts a batch whose payload starts with `payloadVersion`.
    public static func accepts(_ version: UInt16, payloadVersion: UInt8) -> Bool {
        switch payloadVersion {
        case 2: version >= v1
        case 3: version >= v2
        default: false
        }
    }
}
