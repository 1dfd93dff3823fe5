import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XMP packet flattened to the properties Hearth reads.
///
/// Property names are canonical `prefix:Name` whatever prefix the file declared (the
/// namespace URI decides). Arrays (`rdf:Bag/Seq/Alt`) become lists; `rdf:li` structures (the
/// Google `Container:Directory`) become dictionaries of their fields.
struct XMPPacket: Equatable {
    static let maxBytes = 2 << 20

    var properties: [String: [String]] = [:]
    var structs: [String: [[String: String]]] = [:]

    func first(_ name: String) -> String? { properties[name]?.first }

    static let namespaces: [String: String] = [
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
        "http://ns.adobe.com/xap/1.0/": "xmp",
        "http://purl.org/dc/elements/1.1/": "dc",
        "http://ns.adobe.com/exif/1.0/": "exif",
        "http://ns.adobe.com/exif/1.0/aux/": "aux",
        "http://cipa.jp/exif/1.0/": "exifEX",
        "http://ns.adobe.com/tiff/1.0/": "tiff",
        "http://ns.adobe.com/photoshop/1.0/": "photoshop",
        "http://www.digikam.org/ns/1.0/": "digiKam",
        "http://ns.adobe.com/lightroom/1.0/": "lr",
        "http://ns.google.com/photos/1.0/panorama/": "GPano",
        "http://ns.google.com/photos/1.0/camera/": "GCamera",
        "http://ns.google.com/photos/1.0/container/": "Container",
        "http://ns.google.com/photos/1.0/container/item/": "Item",
        "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM",
        "http://ns.apple.com/ImageIO/1.0/": "apple",
    ]

    /// Parses one packet; nil when it is too large or not XML.
    static func parse(_ bytes: ArraySlice<UInt8>) -> XMPPacket? {
        guard !bytes.isEmpty, bytes.count <= maxBytes else { return nil }
        // Writers pad packets with NULs or whitespace after the closing tag; libxml2 rejects NULs.
        var trimmed = bytes
        while let last = trimmed.last, last == 0 || last == 0x20 || last == 0x0A { trimmed = trimmed.dropLast() }
        let parser = XMLParser(data: Data(trimmed))
        let collector = XMPCollector()
        parser.delegate = collector
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        _ = parser.parse()
        let packet = collector.packet
        return packet.properties.isEmpty && packet.structs.isEmpty ? nil : packet
    }
}

/// SAX delegate building an `XMPPacket`; keeps going after errors with what it has.
private final class XMPCollector: NSObject, XMLParserDelegate {
    struct Frame {
        var name: String
        var prefixes: [String: String]
        var text = ""
        /// The top-level property this element belongs to, if any.
        var property: String?
        var isProperty = false
        var isItem = false
        var item: [String: String] = [:]
    }
    var packet = XMPPacket()
    private var stack: [Frame] = []
    private var elements = 0

    private func canonical(_ qName: String, _ prefixes: [String: String]) -> String {
        let parts = qName.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return qName }
        let prefix = String(parts[0])
        if let uri = prefixes[prefix], let known = XMPPacket.namespaces[uri] { return "\(known):\(parts[1])" }
        return qName
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        elements += 1
        if elements > 200_000 { parser.abortParsing(); return }
        var prefixes = stack.last?.prefixes ?? [:]
        for (key, value) in attributes where key.hasPrefix("xmlns:") { prefixes[String(key.dropFirst(6))] = value }
        let name = canonical(elementName, prefixes)
        var frame = Frame(name: name, prefixes: prefixes)
        let parent = stack.last
        frame.property = parent?.property
        // A property is a child of an rdf:Description that is itself directly under rdf:RDF.
        if parent?.name == "rdf:Description", parent?.property == nil, !name.hasPrefix("rdf:") {
            frame.property = name
            frame.isProperty = true
        }
        if name == "rdf:li", frame.property != nil { frame.isItem = true }
        let fields = attributes.sorted { $0.key < $1.key }
            .filter { !$0.key.hasPrefix("xmlns") }
            .map { (canonical($0.key, prefixes), $0.value) }
            .filter { !$0.0.hasPrefix("rdf:") && !$0.0.hasPrefix("x:") }
        if name == "rdf:Description", frame.property == nil {
            for (key, value) in fields { packet.properties[key, default: []].append(value) }
        } else if frame.property != nil, !frame.isProperty {
            // Fields of a structure inside an array item go to the nearest item.
            if let itemIndex = stack.lastIndex(where: { $0.isItem }) {
                for (key, value) in fields { stack[itemIndex].item[key] = value }
            } else if frame.isItem {
                for (key, value) in fields { frame.item[key] = value }
            }
        }
        stack.append(frame)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty, stack[stack.count - 1].text.utf8.count < 65_536 else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        guard let frame = stack.popLast() else { return }
        let text = frame.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let property = frame.property else { return }
        if frame.isItem {
            if !frame.item.isEmpty {
                packet.structs[property, default: []].append(frame.item)
            } else if !text.isEmpty {
                packet.properties[property, default: []].append(text)
            }
        } else if frame.isProperty {
            if !text.isEmpty, packet.properties[property] == nil { packet.properties[property] = [text] }
        } else if !text.isEmpty, !frame.name.hasPrefix("rdf:"),
                  let itemIndex = stack.lastIndex(where: { $0.isItem }) {
            stack[itemIndex].item[frame.name] = text
        }
    }
}

/// The XMP fields Hearth keeps.
struct XMPFields: Equatable {
    var date: CaptureDate?
    var latitude: Double?
    var longitude: Double?
    var altitude: Double?
    var description: String?
    var rating: Int?
    var tags: [String] = []
    var projection: String?
    var make: String?
    var model: String?
    var orientation: Int?
    var isMotionPhoto = false
    /// Bytes counted back from the end of the file where the Google motion video starts.
    var motionVideoLengthFromEnd: Int64?

    init() {}

    init(_ p: XMPPacket) {
        description = p.first("dc:description").map { String($0.prefix(4096)) }
        if let r = p.first("xmp:Rating"), let value = Double(r), value.isFinite, value >= -1, value <= 5 {
            rating = Int(value)
        }
        if let list = p.properties["digiKam:TagsList"], !list.isEmpty {
            tags = list
        } else if let list = p.properties["lr:hierarchicalSubject"], !list.isEmpty {
            tags = list.map { $0.replacingOccurrences(of: "|", with: "/") }
        } else if let list = p.properties["dc:subject"] {
            tags = list
        }
        tags = Array(tags.prefix(1000).map { String($0.prefix(256)) })
        for key in ["exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated", "exif:DateTimeDigitized"] {
            if let text = p.first(key), let d = DateParsing.iso8601(text) {
                // A bare day ("2006-10-29") loses to a later key with a time of day.
                if text.count <= 10, date == nil {
                    date = CaptureDate(localSeconds: d.local, offsetMinutes: d.offset, source: .xmp)
                    continue
                }
                if text.count > 10 {
                    date = CaptureDate(localSeconds: d.local, offsetMinutes: d.offset, source: .xmp)
                    break
                }
            }
        }
        latitude = p.first("exif:GPSLatitude").flatMap(Self.coordinate)
        longitude = p.first("exif:GPSLongitude").flatMap(Self.coordinate)
        if let alt = p.first("exif:GPSAltitude").flatMap(Self.rational) {
            altitude = p.first("exif:GPSAltitudeRef") == "1" ? -alt : alt
        }
        projection = p.first("GPano:ProjectionType")
        make = p.first("tiff:Make")
        model = p.first("tiff:Model")
        orientation = p.first("tiff:Orientation").flatMap { Int($0) }.flatMap { (1...8).contains($0) ? $0 : nil }
        motion(p)
    }

    private mutating func motion(_ p: XMPPacket) {
        let flag = p.first("GCamera:MotionPhoto") == "1" || p.first("GCamera:MicroVideo") == "1"
        if let items = p.structs["Container:Directory"] {
            for item in items where item["Item:Semantic"] == "MotionPhoto" || (item["Item:Mime"] ?? "").hasPrefix("video/") {
                if let length = item["Item:Length"].flatMap({ Int64($0) }), length > 0 {
                    let padding = item["Item:Padding"].flatMap { Int64($0) } ?? 0
                    motionVideoLengthFromEnd = length + max(padding, 0)
                    isMotionPhoto = true
                }
            }
        }
        if motionVideoLengthFromEnd == nil, let offset = p.first("GCamera:MicroVideoOffset").flatMap({ Int64($0) }),
           offset > 0 {
            motionVideoLengthFromEnd = offset
        }
        if flag { isMotionPhoto = true }
    }

    /// "51,30.5N", "51,30,15N" or a signed decimal.
    static func coordinate(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let last = t.last else { return nil }
        let hemisphere = last.isLetter ? last.uppercased() : nil
        let numbers = (hemisphere == nil ? t : String(t.dropLast())).split(separator: ",").map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard !numbers.isEmpty, numbers.count <= 3, numbers.allSatisfy({ $0 != nil }) else { return nil }
        let n = numbers.map { $0! }
        var value = n[0] + (n.count > 1 ? n[1] / 60 : 0) + (n.count > 2 ? n[2] / 3600 : 0)
        if hemisphere == "S" || hemisphere == "W" { value = -value }
        return value.isFinite ? value : nil
    }

    static func rational(_ text: String) -> Double? {
        let parts = text.split(separator: "/")
        if parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), b != 0 { return a / b }
        return Double(text)
    }
}
