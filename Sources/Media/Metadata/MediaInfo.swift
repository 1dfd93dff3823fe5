/// Everything Hearth reads from one media file, as the import pipeline stores it in the catalog.
///
/// Values are as stored in the file: `width`/`height` before `orientation` is applied.
public struct MediaInfo: Sendable, Equatable {
    public var format: MediaFormat
    public var type: MediaType
    public var mimeType: String
    public var takenAt: CaptureDate?
    public var width: Int?
    public var height: Int?
    /// EXIF orientation 1...8.
    public var orientation: Int?
    public var latitude: Double?
    public var longitude: Double?
    public var altitude: Double?
    public var make: String?
    public var model: String?
    public var lens: String?
    public var fNumber: Double?
    public var exposureTime: Double?
    public var focalLength: Double?
    public var iso: Int?
    public var durationSeconds: Double?
    public var videoCodec: String?
    /// "equirectangular" from GPano or spherical video metadata.
    public var projection: String?
    public var motion: MotionInfo?
    /// Apple ContentIdentifier: pairs a Live Photo still with its MOV.
    public var contentIdentifier: String?
    public var description: String?
    public var rating: Int?
    public var tags: [String]

    public init(format: MediaFormat) {
        self.format = format
        self.type = format.type ?? .image
        self.mimeType = format.mimeType
        self.tags = []
    }
}

/// When a photo or video was taken.
///
/// `localSeconds` is the wall clock of the camera counted as if it were UTC (seconds since
/// 1970-01-01T00:00:00); `offsetMinutes` is its offset from UTC when the file says so.
public struct CaptureDate: Sendable, Equatable, Hashable {
    public enum Source: String, Sendable, Codable {
        case exif, xmp, iptc, video, fileName, fileModified
    }
    public var localSeconds: Int64
    public var offsetMinutes: Int?
    public var source: Source

    public init(localSeconds: Int64, offsetMinutes: Int?, source: Source) {
        self.localSeconds = localSeconds
        self.offsetMinutes = offsetMinutes
        self.source = source
    }

    /// The instant in UTC seconds, when the offset is known.
    public var utcSeconds: Int64? {
        offsetMinutes.map { localSeconds - Int64($0) * 60 }
    }
}

/// A video embedded in a still: Google/Samsung Motion Photo.
public struct MotionInfo: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// Google Camera `MotionPhoto` / `MicroVideo` XMP with the video appended to the JPEG.
        case googleMotionPhoto
        /// Samsung `MotionPhoto_Data` trailer in a JPEG.
        case samsungTrailer
        /// Samsung HEIC `mpvd` box.
        case samsungHEIF
    }
    public var kind: Kind
    /// Byte offset of the embedded MP4 from the start of the file.
    public var videoOffset: Int64
    public var videoLength: Int64

    public init(kind: Kind, videoOffset: Int64, videoLength: Int64) {
        self.kind = kind
        self.videoOffset = videoOffset
        self.videoLength = videoLength
    }
}

/// Why a file could not be read. The message names the file and what is wrong.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotOpen, unsupportedFormat, truncated, malformed, toolMissing, toolFailed, timedOut, tooLarge
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
