/// Pairs Live Photo stills with their videos.
public enum LivePhotoPairing {
    public struct Pair: Sendable, Equatable {
        public var still: String
        public var video: String

        public init(still: String, video: String) {
            self.still = still
            self.video = video
        }
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
