import CarDefinition
/// Raw DEFLATE decompression (RFC 1951), for JWE `zip: DEF` (RFC 7516 §4.1.3). Foundation on
/// Linux has no zlib binding; this follows the structure of zlib's reference decoder `puff`.
enum RawInflate {
    private static let maxBits = 15
    private static let lengthBase = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
        4097, 6145, 8193, 12289, 16385, 24577,
    ]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A canonical Huffman code: the number of codes of each length and the symbols in code order.
    private struct Huffman {
        var counts = [Int](repeating: 0, count: RawInflate.maxBits + 1)
        var symbols: [Int]
        /// Codes left unused: negative when the lengths are over-subscribed, positive when the code
        /// is incomplete, 0 when it is complete (or has no codes at all).
        var left = 0

        init(lengths: ArraySlice<Int>) {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            if counts[0] == lengths.count { return }
            left = 1
            for len in 1...RawInflate.maxBits {
                left = left << 1 - counts[len]
                if left < 0 { return }
            }
            var offsets = [Int](repeating: 0, count: RawInflate.maxBits + 1)
            for len in 1..<RawInflate.maxBits { offsets[len + 1] = offsets[len] + counts[len] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }

        /// Whether the code can be used: not over-subscribed, and complete unless it has one code.
        var isUsable: Bool {
            left == 0 || (left > 0 && counts.dropFirst().reduce(0, +) == 1)
        }
    }

    private struct Reader {
        let input: [UInt8]
        var position = 0
        var bitBuffer = 0
        var bitCount = 0

        mutating func bits(_ n: Int) throws(JWEError) -> Int {
            var value = bitBuffer
            while bitCount < n {
                guard position < input.count else { throw JWEError("the data ends early") }
                value |= Int(input[position]) << bitCount
                position += 1
                bitCount += 8
            }
            bitBuffer = value >> n
            bitCount -= n
            return value & (1 << n - 1)
        }

        mutating func decode(_ h: Huffman) throws(JWEError) -> Int {
            var code = 0, first = 0, index = 0
            for len in 1...RawInflate.maxBits {
                code |= try bits(1)
                let count = h.counts[len]
                if code - count < first { return h.symbols[index + code - first] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw JWEError("an invalid Huffman code")
        }
    }

    /// The inflated bytes, at most `limit` of them.
    static func inflate(_ input: [UInt8], limit: Int) throws(JWEError) -> [UInt8] {
        var reader = Reader(input: input)
        var out: [UInt8] = []
        var last = 0
        repeat {
            last = try reader.bits(1)
            switch try reader.bits(2) {
            case 0: try stored(&reader, &out)
            case 1: try codes(&reader, &out, fixedLengths, fixedDistances, limit: limit)
            case 2:
                let (lengths, distances) = try dynamicCodes(&reader)
                try codes(&reader, &out, lengths, distances, limit: limit)
            default: throw JWEError("an invalid block type")
            }
            if out.count > limit { throw JWEError("it is over \(limit) bytes") }
        } while last == 0
        return out
    }

    private static func stored(_ r: inout Reader, _ out: inout [UInt8]) throws(JWEError) {
        r.bitBuffer = 0
        r.bitCount = 0
        guard r.position + 4 <= r.input.count else { throw JWEError("the data ends early") }
        let length = Int(r.input[r.position]) | Int(r.input[r.position + 1]) << 8
        let complement = Int(r.input[r.position + 2]) | Int(r.input[r.position + 3]) << 8
        guard length == ~complement & 0xFFFF else { throw JWEError("a stored block's length does not match its complement") }
        r.position += 4
        guard r.position + length <= r.input.count else { throw JWEError("the data ends early") }
        out += r.input[r.position..<(r.position + length)]
        r.position += length
    }

    private static let fixedLengths: Huffman = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return Huffman(lengths: lengths[...])
    }()

    private static let fixedDistances = Huffman(lengths: [Int](repeating: 5, count: 30)[...])

    private static func dynamicCodes(_ r: inout Reader) throws(JWEError) -> (Huffman, Huffman) {
        let lengthCount = try r.bits(5) + 257
        let distanceCount = try r.bits(5) + 1
        let codeCount = try r.bits(4) + 4
        guard lengthCount <= 286, distanceCount <= 30 else { throw JWEError("too many length or distance codes") }
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<codeCount { codeLengths[codeLengthOrder[i]] = try r.bits(3) }
        let codeLengthCode = Huffman(lengths: codeLengths[...])
        guard codeLengthCode.left == 0 else { throw JWEError("an invalid code length code") }
        var lengths: [Int] = []
        while lengths.count < lengthCount + distanceCount {
            let symbol = try r.decode(codeLengthCode)
            if symbol < 16 {
                lengths.append(symbol)
                continue
            }
            var value = 0
            let repeats: Int
            switch symbol {
            case 16:
                guard let previous = lengths.last else { throw JWEError("a repeated length with no previous length") }
                value = previous
                repeats = 3 + (try r.bits(2))
            case 17: repeats = 3 + (try r.bits(3))
            default: repeats = 11 + (try r.bits(7))
            }
            guard lengths.count + repeats <= lengthCount + distanceCount else { throw JWEError("too many code lengths") }
            lengths += [Int](repeating: value, count: repeats)
        }
        guard lengths[256] != 0 else { throw JWEError("no end-of-block code") }
        let lengthCode = Huffman(lengths: lengths[0..<lengthCount])
        let distanceCode = Huffman(lengths: lengths[lengthCount...])
        guard lengthCode.isUsable, distanceCode.isUsable else { throw JWEError("an invalid literal/length or distance code") }
        return (lengthCode, distanceCode)
    }

    private static func codes(_ r: inout Reader, _ out: inout [UInt8], _ lengths: Huffman, _ distances: Huffman, limit: Int)
        throws(JWEError)
    {
        while true {
            let symbol = try r.decode(lengths)
            if symbol < 256 {
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let index = symbol - 257
                guard index < 29 else { throw JWEError("an invalid length code") }
                let length = lengthBase[index] + (try r.bits(lengthExtra[index]))
                let d = try r.decode(distances)
                guard d < 30 else { throw JWEError("an invalid distance code") }
                let distance = distanceBase[d] + (try r.bits(distanceExtra[d]))
                guard distance <= out.count else { throw JWEError("a distance before the start of the data") }
                let start = out.count - distance
                for i in 0..<length { out.append(out[start + i]) }
            }
            if out.count > limit { throw JWEError("it is over \(limit) bytes") }
        }
    }
}
