import CMediaShim
import CVips
import Foundation

/// One-time libvips set-up and the single place that reads `vips_error_buffer()`.
///
/// libvips keeps global state (operation cache, thread pool size, error buffer), so every
/// call into it from this module goes through here first.
enum VipsRuntime {
    private static let initialised: Bool = {
        guard hearth_vips_init() == 0 else { return false }
        // Derived images never reuse operations, so the cache only holds memory.
        hearth_vips_configure(1, 0)
        return true
    }()

    /// Calls `vips_init` once; later calls are free.
    static func ensure() {
        precondition(initialised, "libvips failed to initialise (vips_init)")
    }

    /// Sets libvips' per-pipeline thread count so that `workers` pipelines running side by
    /// side use about one thread per core in total (`vips_concurrency_set`).
    static func configure(workers: Int) {
        ensure()
        precondition(workers >= 1, "workers must be at least 1")
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        hearth_vips_configure(Int32(max(1, cores / workers)), 0)
    }

    /// Reads and clears `vips_error_buffer()`: the only place that touches it.
    /// The buffer is process-wide, so with parallel workers a message may come from a
    /// neighbour's failure; callers always add the file name they were working on.
    static func takeError() -> String {
        guard let raw = hearth_vips_take_error() else { return "" }
        defer { g_free(raw) }
        let text = String(cString: raw).trimmingCharacters(in: .whitespacesAndNewlines)
        // Keep messages readable: the first few lines say what went wrong.
        let lines = text.split(separator: "\n").prefix(4)
        return String(lines.joined(separator: "; ").prefix(600))
    }
}

/// Owns one `VipsImage` reference and drops it on deinit (`g_object_unref`).
final class VipsImageRef {
    let pointer: UnsafeMutablePointer<VipsImage>

    init(_ pointer: UnsafeMutablePointer<VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        g_object_unref(pointer)
    }

    var width: Int { Int(vips_image_get_width(pointer)) }
    var height: Int { Int(vips_image_get_height(pointer)) }
    var bands: Int { Int(vips_image_get_bands(pointer)) }
    var hasAlpha: Bool { vips_image_hasalpha(pointer) != 0 }
    var format: VipsBandFormat { vips_image_get_format(pointer) }
    var interpretation: VipsInterpretation { vips_image_get_interpretation(pointer) }

    /// EXIF orientation 1–8 as libvips read it (1 when absent).
    var orientation: Int { Int(vips_image_get_orientation(pointer)) }

    func string(_ field: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        guard hearth_vips_get_string(pointer, field, &buffer, buffer.count) == 0 else { return nil }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func int(_ field: String) -> Int? {
        guard vips_image_get_typeof(pointer, field) != 0 else { return nil }
        var value: Int32 = 0
        guard vips_image_get_int(pointer, field, &value) == 0 else { return nil }
        return Int(value)
    }

    func hasField(_ field: String) -> Bool {
        vips_image_get_typeof(pointer, field) != 0
    }
}

/// Runs a wrapper that fills `VipsImage **out`; nil on failure (error left in the buffer).
func vipsCall(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) -> VipsImageRef? {
    var out: UnsafeMutablePointer<VipsImage>?
    guard body(&out) == 0, let image = out else { return nil }
    return VipsImageRef(image)
}

/// Runs a `*save_buffer` wrapper and copies the g_malloc'd bytes into a Swift array.
func vipsSave(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutablePointer<Int>) -> Int32) -> [UInt8]? {
    var buffer: UnsafeMutableRawPointer?
    var length = 0
    guard body(&buffer, &length) == 0, let bytes = buffer else { return nil }
    defer { g_free(bytes) }
    return Array(UnsafeRawBufferPointer(start: bytes, count: length))
}
