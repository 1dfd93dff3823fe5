import Foundation
import Media

/// What an import does with one file found under the given paths.
public enum FileRole: Equatable, Sendable {
    /// A photo or video, with the XMP sidecar that belongs to it, if any.
    case media(sidecar: String?)
    /// Not imported: the reason says why (not media, a consumed sidecar, hidden file…).
    case skipped(reason: String)
}

/// Walks import paths recursively and classifies every file exactly once, so that an import
/// can account for each file as imported, duplicate, failed or skipped.
public enum FileWalker {
    static let mediaExtensions: Set<String> = [
        "jpg", "jpeg", "jpe", "png", "webp", "gif", "tif", "tiff", "heic", "heif", "hif", "avif", "jxl",
        "mpo", "jp2", "bmp", "cr2", "cr3", "crw", "x3f", "nef", "nrw", "arw", "sr2", "raf", "orf", "rw2", "dng", "pef", "srw",
        "mp4", "m4v", "mov", "qt", "mkv", "avi", "3gp", "3g2", "webm", "mts", "m2ts", "wmv", "mpg", "mpeg",
    ]

    /// Every regular file under `paths` (files are taken as given), sorted for a stable order,
    /// each with its role. Unreadable directories are reported as failures by the caller.
    public static func walk(_ paths: [String]) -> (files: [(path: String, role: FileRole)], errors: [(String, String)]) {
        var all: [String] = []
        var errors: [(String, String)] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else {
                errors.append((p, "no such file or directory"))
                continue
            }
            if !isDir.boolValue { all.append(p); continue }
            guard fm.isReadableFile(atPath: p) else {
                errors.append((p, "permission denied: cannot read the folder"))
                continue
            }
            let base = URL(fileURLWithPath: p)
            guard let e = fm.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey],
                                        options: [], errorHandler: { url, err in
                                            errors.append((url.path, "cannot read: \(err.localizedDescription)"))
                                            return true
                                        }) else { continue }
            for case let url as URL in e {
                let v = try? url.resourceValues(forKeys: [.isRegularFileKey])
                if v?.isRegularFile == true { all.append(url.path) }
            }
        }
        all.sort()
        return (classify(all), errors)
    }

    /// Pairs sidecars with their media (`IMG_1.jpg.xmp` or `IMG_1.xmp` beside `IMG_1.jpg`).
    static func classify(_ files: [String]) -> [(path: String, role: FileRole)] {
        let set = Set(files)
        var consumed = Set<String>()
        var out: [(String, FileRole)] = []
        var mediaSidecar: [String: String] = [:]
        for f in files where isMedia(f) {
            let url = URL(fileURLWithPath: f)
            let full = f + ".xmp", fullUpper = f + ".XMP"
            let stem = url.deletingPathExtension().path
            for c in [full, fullUpper, stem + ".xmp", stem + ".XMP"] where set.contains(c) && !consumed.contains(c) {
                mediaSidecar[f] = c
                consumed.insert(c)
                break
            }
        }
        for f in files {
            let name = (f as NSString).lastPathComponent
            if isMedia(f) {
                out.append((f, .media(sidecar: mediaSidecar[f])))
            } else if consumed.contains(f) {
                out.append((f, .skipped(reason: "sidecar, read with its photo")))
            } else if name.hasPrefix(".") {
                out.append((f, .skipped(reason: "hidden file")))
            } else if name.lowercased().hasSuffix(".xmp") {
                out.append((f, .skipped(reason: "sidecar without a matching photo")))
            } else {
                out.append((f, .skipped(reason: "not a photo or video")))
            }
        }
        return out
    }

    static func isMedia(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        guard !name.hasPrefix("._") else { return false }
        return mediaExtensions.contains((name as NSString).pathExtension.lowercased())
    }
}

extension FileWalker {
    /// True when a file without a media extension starts with a photo or video's magic bytes.
    static func sniffsAsMedia(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 65_536)) ?? Data()
        return !head.isEmpty && MediaFormat.sniff([UInt8](head)) != .unknown
    }
}
