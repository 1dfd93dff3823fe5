import Foundation

/// ThumbHash (Evan Wallace's image placeholder, https://evanw.github.io/thumbhash/): a DCT of a
/// tiny copy of the image in a luminance / yellow-blue / red-green (and alpha) space, quantized
/// to about 25 bytes. Clients paint it while the thumbnail loads. This is the reference
/// encoder's algorithm in single precision, so its output is byte-identical to the reference's.
public enum ThumbHash {
    /// The largest side the encoder takes: a larger image gives no better hash, only slower.
    public static let maxSide = 100

    /// The hash of a `width` × `height` image of straight (not premultiplied) RGBA pixels, row
    /// by row. Nil when a side is 0 or above `maxSide`, or `rgba` is not `width * height * 4` bytes.
    public static func encode(width w: Int, height h: Int, rgba: [UInt8]) -> [UInt8]? {
        guard (1...maxSide).contains(w), (1...maxSide).contains(h), rgba.count == w * h * 4 else { return nil }
        let n = w * h

        // The average colour, weighted by alpha.
        var avgR: Float = 0, avgG: Float = 0, avgB: Float = 0, avgA: Float = 0
        for i in 0..<n {
            let alpha = Float(rgba[4 * i + 3]) / 255
            avgR += alpha / 255 * Float(rgba[4 * i])
            avgG += alpha / 255 * Float(rgba[4 * i + 1])
            avgB += alpha / 255 * Float(rgba[4 * i + 2])
            avgA += alpha
        }
        if avgA > 0 {
            avgR /= avgA
            avgG /= avgA
            avgB /= avgA
        }

        let hasAlpha = avgA < Float(n)
        let lLimit = hasAlpha ? 5 : 7  // fewer luminance terms when alpha needs the room
        let longSide = Float(max(w, h))
        let lx = max(1, Int((Float(lLimit * w) / longSide).rounded()))
        let ly = max(1, Int((Float(lLimit * h) / longSide).rounded()))

        // RGBA to LPQA, each pixel composited over the average colour.
        var l = [Float](repeating: 0, count: n), p = l, q = l, a = l
        for i in 0..<n {
            let alpha = Float(rgba[4 * i + 3]) / 255
            let r = avgR * (1 - alpha) + alpha / 255 * Float(rgba[4 * i])
            let g = avgG * (1 - alpha) + alpha / 255 * Float(rgba[4 * i + 1])
            let b = avgB * (1 - alpha) + alpha / 255 * Float(rgba[4 * i + 2])
            l[i] = (r + g + b) / 3
            p[i] = (r + g) / 2 - b
            q[i] = r - g
            a[i] = alpha
        }

        let lc = channel(l, w: w, h: h, nx: max(lx, 3), ny: max(ly, 3))
        let pc = channel(p, w: w, h: h, nx: 3, ny: 3)
        let qc = channel(q, w: w, h: h, nx: 3, ny: 3)
        let ac = hasAlpha ? channel(a, w: w, h: h, nx: 5, ny: 5) : (dc: 1, ac: [], scale: 1)

        // The constant terms: 24 + 16 bits, and 8 more with alpha.
        let landscape = w > h
        var header24 = UInt32(quantize(63 * lc.dc))
        header24 |= UInt32(quantize(31.5 + 31.5 * pc.dc)) << 6
        header24 |= UInt32(quantize(31.5 + 31.5 * qc.dc)) << 12
        header24 |= UInt32(quantize(31 * lc.scale)) << 18
        if hasAlpha { header24 |= 1 << 23 }
        var header16 = UInt16(landscape ? ly : lx)
        header16 |= UInt16(quantize(63 * pc.scale)) << 3
        header16 |= UInt16(quantize(63 * qc.scale)) << 9
        if landscape { header16 |= 1 << 15 }
        var hash: [UInt8] = [UInt8(header24 & 255), UInt8((header24 >> 8) & 255), UInt8(header24 >> 16),
                             UInt8(header16 & 255), UInt8(header16 >> 8)]
        if hasAlpha {
            hash.append(UInt8(quantize(15 * ac.dc)) | UInt8(quantize(15 * ac.scale)) << 4)
        }

        // The varying terms, four bits each, low nibble first.
        var odd = false
        for f in lc.ac + pc.ac + qc.ac + ac.ac {
            let u = UInt8(quantize(15 * f))
            if odd { hash[hash.count - 1] |= u << 4 } else { hash.append(u) }
            odd.toggle()
        }
        return hash
    }

    /// The hash as standard base64 (what the catalog's `thumbhash` field and Immich's API hold).
    public static func base64(width: Int, height: Int, rgba: [UInt8]) -> String? {
        encode(width: width, height: height, rgba: rgba).map { Data($0).base64EncodedString() }
    }

    /// π rounded to the nearest single (`Float.pi` is rounded toward zero, one ulp below the
    /// reference's constant).
    private static let pi = Float(Double.pi)

    /// Rounds half away from zero into 0…255 (the reference's `round` then byte conversion of
    /// values that are never negative).
    private static func quantize(_ v: Float) -> Int { min(255, max(0, Int(v.rounded()))) }

    /// The DCT of one channel: the DC term, the AC terms of the triangle `cx * ny < nx * (ny - cy)`
    /// normalized into 0…1, and their largest magnitude.
    private static func channel(_ c: [Float], w: Int, h: Int, nx: Int, ny: Int) -> (dc: Float, ac: [Float], scale: Float) {
        var dc: Float = 0, scale: Float = 0
        var ac: [Float] = []
        var fx = [Float](repeating: 0, count: w)
        for cy in 0..<ny {
            var cx = 0
            while cx * ny < nx * (ny - cy) {
                for x in 0..<w { fx[x] = cosf(pi / Float(w) * Float(cx) * (Float(x) + 0.5)) }
                var f: Float = 0
                for y in 0..<h {
                    let fy = cosf(pi / Float(h) * Float(cy) * (Float(y) + 0.5))
                    for x in 0..<w { f += c[x + y * w] * fx[x] * fy }
                }
                f /= Float(w * h)
                if cx > 0 || cy > 0 {
                    ac.append(f)
                    scale = max(scale, abs(f))
                } else {
                    dc = f
                }
                cx += 1
            }
        }
        if scale > 0 { ac = ac.map { 0.5 + 0.5 / scale * $0 } }
        return (dc, ac, scale)
    }
}
