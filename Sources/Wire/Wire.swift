/// Hearth's wire format, as specified in `protocol/SPEC.md`: length-prefixed frames
/// (`Framing`, `FrameDecoder`), a bounds-checked binary encoding for message fields
/// (`Writer`, `Reader`) and the identity payload carried by the Noise handshake
/// (`HandshakePayload`). Sans-IO: bytes in, values out; sockets live in Transport.
///
/// Receiving side of a connection, as Transport drives it:
/// ```
/// var decoder = FrameDecoder()
/// for body in try decoder.feed(bytesFromSocket) {
///     var reader = Reader(try cipher.open(body), context: "message from \(peer)")
///     let kind = try reader.readUInt8("kind")
///     ...
///     try reader.finish()
/// }
/// try decoder.finish()   // at end of stream
/// ```
public enum WireModule {}
