import Foundation

/// Writes an XMP sidecar (`IMG_1234.jpg.xmp`) carrying what a person edited in Hearth, in the
/// namespaces other photo managers read: `dc:description`, `xmp:Rating`, tags as `dc:subject`
/// (leaf names), `lr:hierarchicalSubject` (`Places|Japan`) and `digiKam:TagsList`
/// (`Places/Japan`), the capture date as `exif:DateTimeOriginal` and GPS as `exif:GPSLatitude`.
/// `MediaReader` reads the same sidecar back, so an export re-imports with its edits.
public enum XMPWriter {
    public struct Fields: Sendable, Equatable {
        public var description: String?
        public var rating: Int?
        public var tags: [String]
        public var takenAt: CaptureDate?
        public var latitude: Double?
        public var longitude: Double?
        public var altitude: Double?

        public init(description: String? = nil, rating: Int? = nil, tags: [String] = [], takenAt: CaptureDate? = nil,
                    latitude: Double? = nil, longitude: Double? = nil, altitude: Double? = nil) {
            self.description = description
            self.rating = rating
            self.tags = tags
            self.takenAt = takenAt
            self.latitude = latitude
            self.longitude = longitude
            self.altitude = altitude
        }
    }

    public static func sidecar(_ f: Fields) -> String {
        var props: [String] = []
        if let d = f.description, !d.isEmpty {
            props.append("<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">\(escape(d))</rdf:li></rdf:Alt></dc:description>")
        }
        if let r = f.rating { props.append("<xmp:Rating>\(r)</xmp:Rating>") }
        if let t = f.takenAt { props.append("<exif:DateTimeOriginal>\(iso8601(t))</exif:DateTimeOriginal>") }
        if let lat = f.latitude, let lon = f.longitude, lat.isFinite, lon.isFinite {
            props.append("<exif:GPSLatitude>\(coordinate(lat, positive: "N", negative: "S"))</exif:GPSLatitude>")
            props.append("<exif:GPSLongitude>\(coordinate(lon, positive: "E", negative: "W"))</exif:GPSLongitude>")
            if let alt = f.altitude, alt.isFinite {
                props.append("<exif:GPSAltitude>\(Int((abs(alt) * 1000).rounded()))/1000</exif:GPSAltitude>")
                props.append("<exif:GPSAltitudeRef>\(alt < 0 ? 1 : 0)</exif:GPSAltitudeRef>")
            }
        }
        if !f.tags.isEmpty {
            let leaves = Array(Set(f.tags.map { String($0.split(separator: "/").last ?? Substring($0)) })).sorted()
            props.append("<dc:subject><rdf:Bag>" + leaves.map { "<rdf:li>\(escape($0))</rdf:li>" }.joined() + "</rdf:Bag></dc:subject>")
            props.append("<lr:hierarchicalSubject><rdf:Bag>"
                         + f.tags.map { "<rdf:li>\(escape($0.replacingOccurrences(of: "/", with: "|")))</rdf:li>" }.joined()
                         + "</rdf:Bag></lr:hierarchicalSubject>")
            props.append("<digiKam:TagsList><rdf:Seq>" + f.tags.map { "<rdf:li>\(escape($0))</rdf:li>" }.joined()
                         + "</rdf:Seq></digiKam:TagsList>")
        }
        return """
        <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
        <x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Hearth">
         <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
          <rdf:Description rdf:about=""
            xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:xmp="http://ns.adobe.com/xap/1.0/"
            xmlns:exif="http://ns.adobe.com/exif/1.0/"
            xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
            xmlns:digiKam="http://www.digikam.org/ns/1.0/">
        \(props.map { "   " + $0 }.joined(separator: "\n"))
          </rdf:Description>
         </rdf:RDF>
        </x:xmpmeta>
        <?xpacket end="w"?>

        """
    }

    /// XMP's GPS form: degrees, decimal minutes and a hemisphere letter ("51,30.500000N").
    static func coordinate(_ value: Double, positive: String, negative: String) -> String {
        let a = abs(value)
        let degrees = Int(a)
        let minutes = (a - Double(degrees)) * 60
        return "\(degrees)," + String(format: "%.6f", minutes) + (value < 0 ? negative : positive)
    }

    static func iso8601(_ t: CaptureDate) -> String {
        let days = Int64((Double(t.localSeconds) / 86400).rounded(.down))
        let rem = t.localSeconds - days * 86400
        let date = Date(timeIntervalSince1970: TimeInterval(days * 86400))
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day], from: date)
        var s = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!,
                       Int(rem / 3600), Int(rem % 3600 / 60), Int(rem % 60))
        if let off = t.offsetMinutes {
            s += String(format: "%@%02d:%02d", off < 0 ? "-" : "+", abs(off) / 60, abs(off) % 60)
        }
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
