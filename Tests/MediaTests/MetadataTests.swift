import Foundation
import Testing
@testable import Media

@Suite("Metadata")
struct MetadataTests {
    static let july4 = DateParsing.seconds(2019, 7, 4, 12, 34, 56)!

    @Test func exifRoundTripThroughWriterAndReader() throws {
        let fields = ExifWriter.Fields(
            takenAt: CaptureDate(localSeconds: Self.july4, offsetMinutes: 120, source: .exif),
            latitude: -33.856784, longitude: 151.215297, altitude: -12.5, orientation: 6,
            make: "Hearth", model: "Test Camera")
        let jpeg = try ExifWriter.insert(fields, into: MetadataFixtures.tinyJPEG)
        let info = try MediaReader.read(path: MetadataFixtures.temporaryFile("photo.jpg", jpeg))
        #expect(info.format == .jpeg)
        #expect(info.mimeType == "image/jpeg")
        #expect(info.takenAt == CaptureDate(localSeconds: Self.july4, offsetMinutes: 120, source: .exif))
        #expect(info.takenAt?.utcSeconds == Self.july4 - 7200)
        #expect(abs((info.latitude ?? 0) - -33.856784) < 1e-6)
        #expect(abs((info.longitude ?? 0) - 151.215297) < 1e-6)
        #expect(info.altitude == -12.5)
        #expect(info.orientation == 6)
        #expect(info.make == "Hearth")
        #expect(info.model == "Test Camera")
        #expect(info.width == 8 && info.height == 8)
        #expect(info.motion == nil)
    }

    @Test func writerReplacesAnExistingExifBlock() throws {
        let first = try ExifWriter.insert(ExifWriter.Fields(make: "One"), into: MetadataFixtures.tinyJPEG)
        let second = try ExifWriter.insert(ExifWriter.Fields(make: "Two"), into: first)
        #expect(second.count == first.count)
        let info = try MediaReader.read(path: MetadataFixtures.temporaryFile("twice.jpg", second))
        #expect(info.make == "Two")
        #expect(throws: MediaError.self) { try ExifWriter.insert(ExifWriter.Fields(), into: [0x89, 0x50, 0x4E, 0x47]) }
    }

    @Test func writerFormatsDates() {
        #expect(ExifWriter.format(Self.july4) == "2019:07:04 12:34:56")
        #expect(ExifWriter.format(0) == "1970:01:01 00:00:00")
        #expect(ExifWriter.format(-1) == "1969:12:31 23:59:59")
        #expect(ExifWriter.format(DateParsing.seconds(2000, 2, 29, 23, 59, 59)!) == "2000:02:29 23:59:59")
    }

    @Test(arguments: [
        "IMG_20190704_123456.jpg", "VID_20190704_123456.mp4", "PXL_20190704_123456789.jpg",
        "20190704_123456.jpg", "2019-07-04 12.34.56.jpg", "Screenshot_2019-07-04-12-34-56.png",
        "Screenshot_20190704-123456.png", "signal-2019-07-04-123456.jpg",
    ])
    func fileNameDates(name: String) {
        #expect(DateParsing.fromFileName(name) == Self.july4, "\(name)")
    }

    @Test(arguments: ["IMG_1234.jpg", "DSC00001.JPG", "20191304_123456.jpg", "IMG_20190732_123456.jpg", "123420190704_123456.jpg"])
    func fileNamesWithoutDates(name: String) {
        #expect(DateParsing.fromFileName(name) == nil, "\(name)")
    }

    @Test func fileNameAndMtimeFallbacks() throws {
        let named = try MediaReader.read(path: MetadataFixtures.temporaryFile("IMG_20190704_123456.jpg", MetadataFixtures.tinyJPEG),
                                         fileModified: 1_000)
        #expect(named.takenAt == CaptureDate(localSeconds: Self.july4, offsetMinutes: nil, source: .fileName))
        let plain = try MediaReader.read(path: MetadataFixtures.temporaryFile("plain.jpg", MetadataFixtures.tinyJPEG), fileModified: 1_000)
        #expect(plain.takenAt == CaptureDate(localSeconds: 1_000, offsetMinutes: 0, source: .fileModified))
        let none = try MediaReader.read(path: MetadataFixtures.temporaryFile("plain.jpg", MetadataFixtures.tinyJPEG))
        #expect(none.takenAt == nil)
    }

    @Test func exifDateStrings() {
        #expect(DateParsing.iso8601("2019:07:04 12:34:56")! == (Self.july4, nil))
        #expect(DateParsing.iso8601("2019-07-04T12:34:56.250+02:00")! == (Self.july4, 120))
        #expect(DateParsing.iso8601("2019-07-04T12:34:56Z")! == (Self.july4, 0))
        #expect(DateParsing.iso8601("2019-07-04T12:34:56-0530")! == (Self.july4, -330))
        #expect(DateParsing.iso8601("0000:00:00 00:00:00") == nil)
        #expect(DateParsing.iso8601("    :  :     :  :  ") == nil)
        #expect(DateParsing.iso8601("2019:02:30 00:00:00") == nil)
    }

    @Test func xmpSidecarOverridesEmbedded() throws {
        let embedded = MetadataFixtures.xmpPacket("""
        <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmp:Rating="2" xmp:CreateDate="2018-01-02T03:04:05">
          <dc:description><rdf:Alt><rdf:li xml:lang="x-default">embedded words</rdf:li></rdf:Alt></dc:description>
          <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>sun</rdf:li></rdf:Bag></dc:subject>
        </rdf:Description>
        """)
        let jpeg = MetadataFixtures.withAPP1(MetadataFixtures.tinyJPEG, JPEGScanner.xmpSignature + embedded)
        let path = MetadataFixtures.temporaryFile("IMG_1234.jpg", jpeg)
        let alone = try MediaReader.read(path: path)
        #expect(alone.rating == 2)
        #expect(alone.description == "embedded words")
        #expect(alone.tags == ["beach", "sun"])
        #expect(alone.takenAt == CaptureDate(localSeconds: DateParsing.seconds(2018, 1, 2, 3, 4, 5)!, offsetMinutes: nil, source: .xmp))

        // A sidecar with other prefixes for the same namespaces, in element form.
        let sidecar = MetadataFixtures.xmpPacket("""
        <rdf:Description rdf:about="" xmlns:ns1="http://ns.adobe.com/xap/1.0/" xmlns:e="http://ns.adobe.com/exif/1.0/"
            xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/">
          <ns1:Rating>5</ns1:Rating>
          <e:DateTimeOriginal>2019-07-04T12:34:56+02:00</e:DateTimeOriginal>
          <e:GPSLatitude>51,30.5N</e:GPSLatitude>
          <e:GPSLongitude>0,7.5W</e:GPSLongitude>
          <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|London</rdf:li><rdf:li>People|Ann</rdf:li></rdf:Bag></lr:hierarchicalSubject>
        </rdf:Description>
        """)
        let sidecarPath = path + ".xmp"
        FileManager.default.createFile(atPath: sidecarPath, contents: Data(sidecar))
        #expect(MediaReader.sidecarPath(for: path) == sidecarPath)
        let info = try MediaReader.read(path: path, sidecar: sidecarPath)
        #expect(info.rating == 5)
        #expect(info.description == "embedded words")  // the sidecar has none
        #expect(info.tags == ["Places/London", "People/Ann"])
        #expect(info.takenAt == CaptureDate(localSeconds: Self.july4, offsetMinutes: 120, source: .xmp))
        #expect(abs((info.latitude ?? 0) - 51.508333) < 1e-5)
        #expect(abs((info.longitude ?? 0) - -0.125) < 1e-9)
    }

    @Test func xmpTagPrecedenceAndGoogleMotionPhoto() throws {
        let xmp = MetadataFixtures.xmpPacket("""
        <rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
            xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
            xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:digiKam="http://www.digikam.org/ns/1.0/"
            GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" GPano:ProjectionType="equirectangular">
          <dc:subject><rdf:Bag><rdf:li>ignored</rdf:li></rdf:Bag></dc:subject>
          <digiKam:TagsList><rdf:Seq><rdf:li>Family/Ann</rdf:li></rdf:Seq></digiKam:TagsList>
          <Container:Directory><rdf:Seq>
            <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0"/></rdf:li>
            <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="\(MetadataFixtures.fakeMP4.count)"/></rdf:li>
          </rdf:Seq></Container:Directory>
        </rdf:Description>
        """)
        let still = MetadataFixtures.withAPP1(MetadataFixtures.tinyJPEG, JPEGScanner.xmpSignature + xmp)
        let info = try MediaReader.read(path: MetadataFixtures.temporaryFile("PXL_motion.jpg", still + MetadataFixtures.fakeMP4))
        #expect(info.tags == ["Family/Ann"])
        #expect(info.projection == "equirectangular")
        #expect(info.motion == MotionInfo(kind: .googleMotionPhoto, videoOffset: Int64(still.count),
                                          videoLength: Int64(MetadataFixtures.fakeMP4.count)))
    }

    @Test func samsungTrailerMotionPhoto() throws {
        // SEF directory: "SEFH", version, count, one entry; then its length and "SEFT".
        let sef = Array("SEFH".utf8) + [107, 0, 0, 0, 1, 0, 0, 0] + [0, 0, 0x30, 0x0A] + [UInt8](repeating: 0, count: 8)
        let trailer = sef + [UInt8(sef.count), 0, 0, 0] + Array("SEFT".utf8)
        let file = MetadataFixtures.tinyJPEG + Array("MotionPhoto_Data".utf8) + MetadataFixtures.fakeMP4 + trailer
        let info = try MediaReader.read(path: MetadataFixtures.temporaryFile("20190704_123456.jpg", file))
        #expect(info.motion == MotionInfo(kind: .samsungTrailer, videoOffset: Int64(MetadataFixtures.tinyJPEG.count + 16),
                                          videoLength: Int64(MetadataFixtures.fakeMP4.count + trailer.count)))
        #expect(info.takenAt?.source == .fileName)
        // Without the SEFT trailer the marker is not looked for.
        let plain = MetadataFixtures.tinyJPEG + Array("MotionPhoto_Data".utf8) + MetadataFixtures.fakeMP4
        #expect(try MediaReader.read(path: MetadataFixtures.temporaryFile("x.jpg", plain)).motion == nil)
    }

    @Test func xmpCoordinates() {
        #expect(XMPFields.coordinate("51,30.5N") == 51 + 30.5 / 60)
        #expect(XMPFields.coordinate("33,51,24S") == -(33 + 51.0 / 60 + 24.0 / 3600))
        #expect(XMPFields.coordinate("12.5") == 12.5)
        #expect(XMPFields.coordinate("garbage") == nil)
        #expect(XMPFields.coordinate("1,2,3,4N") == nil)
    }

    @Test func heifBoxTree() throws {
        let tiff = try MetadataFixtures.exifTIFF(ExifWriter.Fields(
            takenAt: CaptureDate(localSeconds: Self.july4, offsetMinutes: -300, source: .exif), make: "Apple", model: "iPhone"))
        let heic = MetadataFixtures.syntheticHEIC(exif: tiff)
        #expect(MediaFormat.sniff(heic) == .heic)
        let info = try MediaReader.read(path: MetadataFixtures.temporaryFile("IMG_0001.HEIC", heic))
        #expect(info.format == .heic)
        #expect(info.mimeType == "image/heic")
        #expect(info.width == 4032 && info.height == 3024)
        #expect(info.make == "Apple" && info.model == "iPhone")
        #expect(info.takenAt == CaptureDate(localSeconds: Self.july4, offsetMinutes: -300, source: .exif))
        #expect(info.orientation == 6)  // from irot 3 (270° anticlockwise), since the EXIF has none
    }

    @Test func sniffsByMagicNotExtension() throws {
        let path = MetadataFixtures.temporaryFile("IMG_0001.HEIC", MetadataFixtures.tinyJPEG)
        #expect(try MediaReader.read(path: path).format == .jpeg)
        #expect(MediaFormat.sniff(Array("GIF89a".utf8) + [1, 0, 2, 0]) == .gif)
        #expect(MediaFormat.sniff(Array("RIFF\0\0\0\0WEBPVP8 ".utf8)) == .webp)
        #expect(MediaFormat.sniff(MetadataFixtures.fakeMP4) == .mp4)
        #expect(MediaFormat.sniff(MetadataFixtures.box("ftyp", Array("qt  ".utf8) + [0, 0, 0, 0])) == .mov)
        #expect(MediaFormat.sniff([0x1A, 0x45, 0xDF, 0xA3]) == .mkv)
        #expect(MediaFormat.sniff(Array("hello world".utf8)) == .unknown)
    }

    @Test func garbageAndTruncatedInputsThrowMediaError() throws {
        let text = MetadataFixtures.temporaryFile("notes.jpg", Array("just some text, not a photo".utf8))
        let error = try #require(throws: MediaError.self) { try MediaReader.read(path: text) }
        #expect(error.code == .unsupportedFormat)
        #expect(error.message.hasPrefix("notes.jpg: "))
        let empty = try #require(throws: MediaError.self) { try MediaReader.read(path: MetadataFixtures.temporaryFile("empty.heic", [])) }
        #expect(empty.code == .truncated)
        let missing = try #require(throws: MediaError.self) { try MediaReader.read(path: "/nonexistent/IMG_9.jpg") }
        #expect(missing.code == .cannotOpen && missing.message.hasPrefix("IMG_9.jpg"))
        let headOnly = try #require(throws: MediaError.self) {
            try MediaReader.read(path: MetadataFixtures.temporaryFile("cut.heic", Array(MetadataFixtures.box("ftyp", Array("heic".utf8) + [0, 0, 0, 0]))))
        }
        #expect(headOnly.code == .malformed)
    }

    /// Every prefix of a JPEG with EXIF+XMP and of a HEIC, and seeded byte flips: each read
    /// returns or throws MediaError, never traps.
    @Test func everyPrefixAndSeededCorruptionIsSafe() throws {
        let jpeg = try ExifWriter.insert(ExifWriter.Fields(
            takenAt: CaptureDate(localSeconds: Self.july4, offsetMinutes: 60, source: .exif),
            latitude: 1, longitude: 2, altitude: 3, orientation: 3, make: "A", model: "B"), into: MetadataFixtures.tinyJPEG)
        let heic = MetadataFixtures.syntheticHEIC(exif: try MetadataFixtures.exifTIFF(ExifWriter.Fields(make: "Apple")))
        var generator = MetadataRandom(seed: 0x4845_4152_5448)
        let path = MetadataFixtures.temporaryFile("scratch", [])
        func attempt(_ bytes: [UInt8]) {
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            _ = try? MediaReader.read(path: path)
        }
        for original in [jpeg, heic] {
            for length in 0...original.count { attempt(Array(original.prefix(length))) }
            for _ in 0..<200 {
                var bytes = original
                for _ in 0..<4 {
                    let i = Int(generator.next() % UInt64(bytes.count))
                    bytes[i] = UInt8(truncatingIfNeeded: generator.next())
                }
                attempt(bytes)
            }
        }
    }

    /// Every byte-level parser on seeded random input, and on random input behind each one's magic.
    @Test func parsersSurviveRandomBytes() {
        var g = MetadataRandom(seed: 7)
        let prefixes: [[UInt8]] = [[0xFF, 0xD8, 0xFF, 0xE1], [0x89] + Array("PNG\r\n\u{1A}\n".utf8), Array("RIFF\0\0\0\0WEBP".utf8),
                                   [0xFF, 0x0A], Array("II*\0".utf8), Array("MM\0*".utf8), [0x1A, 0x45, 0xDF, 0xA3], []]
        for round in 0..<3000 {
            let count = Int(g.next() % 600)
            let bytes = prefixes[round % prefixes.count] + (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let b = bytes[...]
            _ = MediaFormat.sniff(bytes)
            _ = JPEGScanner.scan(b)
            _ = PNGScanner.scan(b)
            _ = WebPScanner.scan(b)
            _ = JXLScanner.scan(b)
            _ = GIFScanner.scan(b)
            _ = HEIFMeta.parse(metaBody: b)
            _ = ISOBMFF.children(of: b)
            _ = IPTC.parse(b)
            _ = IPTC.fromPhotoshop(b)
            _ = RawContainers.rw2(b)
            _ = TIFFView(bytes: b)?.basics()
            _ = TIFFView(bytes: b)?.embeddedBlocks()
            _ = ExifReader.read(tiff: b)
            _ = AppleMakerNote.contentIdentifier(Array("Apple iOS\0\0\u{1}MM".utf8)[...] + b)
            var info = MediaInfo(format: .mkv)
            Matroska.apply(b, to: &info)
            if round % 10 == 0 { _ = XMPPacket.parse(b) }
        }
    }

    @Test func livePhotoPairing() {
        var still = MediaInfo(format: .heic)
        still.contentIdentifier = "A"
        still.takenAt = CaptureDate(localSeconds: 100, offsetMinutes: 0, source: .exif)
        var video = MediaInfo(format: .mov)
        video.contentIdentifier = "A"
        var otherStill = MediaInfo(format: .jpeg)
        otherStill.takenAt = CaptureDate(localSeconds: 1_000, offsetMinutes: nil, source: .exif)
        var otherVideo = MediaInfo(format: .mov)
        otherVideo.takenAt = CaptureDate(localSeconds: 1_002, offsetMinutes: nil, source: .video)
        var farVideo = MediaInfo(format: .mov)
        farVideo.takenAt = CaptureDate(localSeconds: 9_000, offsetMinutes: nil, source: .video)
        let pairs = LivePhotoPairing.pair([
            ("/p/IMG_2.MOV", otherVideo), ("/p/IMG_1.HEIC", still), ("/p/x/VIDEO.MOV", video),
            ("/p/IMG_2.JPG", otherStill), ("/p/IMG_3.JPG", otherStill), ("/p/IMG_3.MOV", farVideo),
        ])
        #expect(pairs == [.init(still: "/p/IMG_1.HEIC", video: "/p/x/VIDEO.MOV"), .init(still: "/p/IMG_2.JPG", video: "/p/IMG_2.MOV")])
    }

    @Test func matroskaHeader() {
        func element(_ id: [UInt8], _ body: [UInt8]) -> [UInt8] { id + [0x80 | UInt8(body.count)] + body }
        let duration = withUnsafeBytes(of: (1500.0).bitPattern.bigEndian, Array.init)
        let dateNs = UInt64(86_400) * 1_000_000_000  // one day after 2001-01-01
        let info = element([0x15, 0x49, 0xA9, 0x66],
                           element([0x2A, 0xD7, 0xB1], [0x0F, 0x42, 0x40]) + element([0x44, 0x89], duration)
                           + element([0x44, 0x61], withUnsafeBytes(of: dateNs.bigEndian, Array.init)))
        let video = element([0xE0], element([0xB0], [0x02, 0x80]) + element([0xBA], [0x01, 0xE0]))
        let tracks = element([0x16, 0x54, 0xAE, 0x6B], element([0xAE], element([0x86], Array("V_VP9".utf8)) + video))
        // Segment with the "unknown size" marker, as live recorders write it.
        let file = element([0x1A, 0x45, 0xDF, 0xA3], element([0x42, 0x82], Array("webm".utf8)))
            + [0x18, 0x53, 0x80, 0x67, 0xFF] + info + tracks
        var parsed = MediaInfo(format: .mkv)
        Matroska.apply(file[...], to: &parsed)
        #expect(parsed.durationSeconds == 1.5)
        #expect(parsed.width == 640 && parsed.height == 480)
        #expect(parsed.videoCodec == "V_VP9")
        #expect(parsed.takenAt == CaptureDate(localSeconds: 978_307_200 + 86_400, offsetMinutes: 0, source: .video))
        for length in 0..<file.count { Matroska.apply(file.prefix(length), to: &parsed) }
    }

    @Test func videoHelpers() {
        let p = VideoProbe.iso6709("+52.4597+013.3220+051.178/")
        #expect(p?.0 == 52.4597 && p?.1 == 13.322 && p?.2 == 51.178)
        let q = VideoProbe.iso6709("-33.8568+151.2153/")
        #expect(q?.0 == -33.8568 && q?.1 == 151.2153 && q?.2 == nil)
        #expect(VideoProbe.iso6709("nonsense") == nil)
        #expect(VideoProbe.orientation(forDisplayRotation: -90) == 6)
        #expect(VideoProbe.orientation(forDisplayRotation: 90) == 8)
        #expect(VideoProbe.orientation(forDisplayRotation: 180) == 3)
        #expect(VideoProbe.orientation(forDisplayRotation: 0) == 1)
    }
}

/// A seeded generator so the corruption test is the same on every run.
struct MetadataRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
