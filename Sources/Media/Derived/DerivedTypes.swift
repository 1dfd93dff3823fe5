/// What kind of original a derived image is made from; picks the decoder.
public enum SourceKind: Sendable, Hashable {
    /// Anything libvips loads (JPEG, PNG, WebP, GIF, TIFF, HEIC/HEIF, AVIF, JXL, …).
    case image
    /// Camera RAW/DNG, decoded with libraw.
    case raw
    /// A video: a poster frame is taken with `ffmpeg`.
    case video
}

/// The two derived images Hearth keeps for every photo and video, as Immich makes them.
public struct Derived: Sendable, Equatable {
    /// WebP, quality 80, shorter side 250 px (never upscaled), upright, sRGB, no metadata.
    public var thumbnail: [UInt8]
    /// JPEG, quality 80, shorter side 1440 px (never upscaled), upright, sRGB, no metadata.
    public var preview: [UInt8]
    public var thumbnailSize: PixelSize
    public var previewSize: PixelSize
    /// Upright size of the decoded original (for a RAW: the sensor image; for a video: the frame).
    public var sourceWidth: Int
    public var sourceHeight: Int
    /// The ThumbHash of the thumbnail (base64, ~25 bytes before encoding); nil if it could not be made.
    public var thumbhash: String? = nil
}

/// A width × height in pixels.
public struct PixelSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)×\(height)" }
}

/// Why a derived image could not be made. The message names the file and says what to do.
public struct DerivedImageError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The file does not exist or cannot be read.
        public static let unreadable = Code(name: "unreadable")
        /// No decoder recognises the file (wrong kind, unknown format).
        public static let unsupported = Code(name: "unsupported")
        /// The file is recognised but broken or truncated.
        public static let corrupt = Code(name: "corrupt")
        /// The image is larger than the pixel or byte limits.
        public static let tooLarge = Code(name: "tooLarge")
        /// Making the derived images took longer than the per-file time limit.
        public static let timedOut = Code(name: "timedOut")
        /// A helper program (ffmpeg, ffprobe) is not installed.
        public static let toolMissing = Code(name: "toolMissing")
        /// Encoding the outputs failed.
        public static let encodeFailed = Code(name: "encodeFailed")

        public var description: String { name }
    }

    public var code: Code
    public var path: String
    public var message: String

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
