/// Finds the video embedded in a Motion Photo still.
enum MotionPhoto {
    static let samsungMarker = Array("MotionPhoto_Data".utf8)
    /// How far past the image data the Samsung marker is looked for.
    static let maxTrailerScan: Int64 = 512 << 20

    /// Google: the XMP says how many bytes at the end of the file are the video.
    static func google(lengthFromEnd: Int64, file: FileSource) -> MotionInfo? {
        guard lengthFromEnd > 0, lengthFromEnd < file.size else { return nil }
        let offset = file.size - lengthFromEnd
        guard looksLikeMP4(file.read(at: offset, count: 12)[...]) else { return nil }
        return MotionInfo(kind: .googleMotionPhoto, videoOffset: offset, videoLength: lengthFromEnd)
    }

    /// Samsung JPEG: the MP4 follows a `MotionPhoto_Data` marker after the JPEG's EOI, and the
    /// file ends with Samsung's "SEFT" trailer directory. Only files ending in "SEFT" are scanned,
    /// so ordinary JPEGs cost one 4-byte read. The length runs to the end of the file (the SEF
    /// directory after the MP4 is ignored by players), as ente's motion-photo manifest counts it.
    static func samsungTrailer(file: FileSource, after imageEnd: Int64 = 0) -> MotionInfo? {
        guard file.size > 8, file.read(at: file.size - 4, count: 4) == Array("SEFT".utf8) else { return nil }
        var offset = max(imageEnd, 0)
        let window = 1 << 20
        let end = min(file.size, imageEnd + maxTrailerScan)
        while offset < end {
            let chunk = file.read(at: offset, count: window + samsungMarker.count)[...]
            var from = 0
            while let hit = chunk.firstRange(of: samsungMarker, from: from) {
                // The marker text can also occur inside metadata: only one followed by an MP4 counts.
                let start = offset + Int64(hit + samsungMarker.count)
                if looksLikeMP4(file.read(at: start, count: 12)[...]) {
                    return MotionInfo(kind: .samsungTrailer, videoOffset: start, videoLength: file.size - start)
                }
                from = hit + 1
            }
            guard chunk.count > window else { break }
            offset += Int64(window)
        }
        return nil
    }

    /// Samsung HEIC: a top-level `mpvd` box holds the MP4.
    static func samsungHEIF(boxes: [ISOBMFF.Box]) -> MotionInfo? {
        guard let box = boxes.first(where: { $0.type == "mpvd" }), box.bodySize > 0 else { return nil }
        return MotionInfo(kind: .samsungHEIF, videoOffset: Int64(box.bodyStart), videoLength: Int64(box.bodySize))
    }

    static func looksLikeMP4(_ head: ArraySlice<UInt8>) -> Bool {
        head.ascii(4, 4) == "ftyp"
    }
}
