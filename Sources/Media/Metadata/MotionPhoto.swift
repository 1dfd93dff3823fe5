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
    static func samsungTrailer(file: FileSource, after imageEnd: Int64) -> MotionInfo? {
        guard file.size > 8, file.read(at: file.size - 4, count: 4) == Array("SEFT".utf8) else { return nil }
        var offset = max(imageEnd, 0)
        let window = 1 << 20
        let end = min(file.size, imageEnd + maxTrailerScan)
        while offset < end {
            let chunk = file.read(at: offset, count: window + samsungMarker.count)[...]
            if let hit = chunk.firstRange(of: samsungMarker) {
                let start = offset + Int64(hit + samsungMarker.count)
                guard looksLikeMP4(file.read(at: start, count: 12)[...]) else { return nil }
                return MotionInfo(kind: .samsungTrailer, videoOffset: start, videoLength: file.size - start)
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

/// Pairs Live Photo stills with their videos.
public enum LivePhotoPairing {
    public struct Pair: Sendable, Equatable {
        public var still: String
        public var video: String
    }

    /// Matches each HEIC/JPEG still to a MOV/MP4 by Apple ContentIdentifier, then, for the
    /// rest, by same folder and base name with capture times within `maxSeconds`.
    /// Output is sorted by still path so it does not depend on input order.
    public static func pair(_ items: [(path: String, info: MediaInfo)], maxSeconds: Int64 = 3) -> [Pair] {
        let stills = items.filter { $0.info.type == .image && [.heic, .heif, .jpeg].contains($0.info.format) }
            .sorted { $0.path < $1.path }
        var videos = items.filter { $0.info.type == .video }.sorted { $0.path < $1.path }
        var pairs: [Pair] = []
        var unmatched: [(path: String, info: MediaInfo)] = []
        for still in stills {
            if let id = still.info.contentIdentifier,
               let k = videos.firstIndex(where: { $0.info.contentIdentifier == id }) {
                pairs.append(Pair(still: still.path, video: videos[k].path))
                videos.remove(at: k)
            } else {
                unmatched.append(still)
            }
        }
        func base(_ path: String) -> String {
            let dot = path.lastIndex(of: ".") ?? path.endIndex
            return String(path[..<dot]).lowercased()
        }
        for still in unmatched {
            let k = videos.firstIndex { video in
                guard base(video.path) == base(still.path), video.info.contentIdentifier == nil
                        || still.info.contentIdentifier == nil else { return false }
                guard let a = still.info.takenAt, let b = video.info.takenAt else { return true }
                let ta = a.utcSeconds ?? a.localSeconds, tb = b.utcSeconds ?? b.localSeconds
                return abs(ta - tb) <= maxSeconds
            }
            if let k {
                pairs.append(Pair(still: still.path, video: videos[k].path))
                videos.remove(at: k)
            }
        }
        return pairs.sorted { $0.still < $1.still }
    }
}
