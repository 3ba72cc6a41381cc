import Foundation
import Testing

@testable import TandemProtocol

/// A bundle's lines (docs/sync.md, Bundles): sealed by a key, opened only whole and unaltered.
@Suite struct BundleFrameTests {
    let key = SigningKey()
    let body = [#"{"a":1}"#, #"{"b":"two"}"#].map { Array($0.utf8) }

    func sealed() -> [UInt8] {
        BundleFrame.seal(kind: .changes, header: [JSONMember("device", .string("d1"))], body: body, key: key)
    }

    @Test func aSealedFrameOpensWithItsHeaderBodyAndKey() throws {
        let frame = try BundleFrame.open(sealed())
        #expect(frame.kind == .changes && frame.publicKey == key.publicKey)
        #expect(frame.header["device"] == .string("d1") && frame.header["count"] == .int(2))
        #expect(frame.body.map { Array($0) } == body)
        let empty = BundleFrame.seal(kind: .pull, header: [], body: [], key: key)
        #expect(try BundleFrame.open(empty).body.isEmpty)
    }

    @Test func aCutAlteredOrForeignTextIsRefused() throws {
        let text = sealed()
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var cut = Array(lines.dropLast(2).joined(separator: [UInt8(ascii: "\n")]))
        cut.append(UInt8(ascii: "\n"))
        var altered = text
        altered[try #require(text.firstRange(of: Array("two".utf8))).lowerBound] = UInt8(ascii: "T")
        // Sealed by another key, its header then made to name this one: the signature gives it away.
        let otherKey = SigningKey()
        let other = BundleFrame.seal(kind: .changes, header: [], body: body, key: otherKey)
        let swapped = Array(
            String(decoding: other, as: UTF8.self).replacingOccurrences(of: otherKey.publicKey, with: key.publicKey)
                .utf8)
        for bad in [cut, Array(text.dropLast()), altered, swapped, Array("id,name\n1,x\n".utf8), []] {
            #expect(throws: ProtocolError.self) { try BundleFrame.open(bad) }
        }
    }
}
