import Testing

@testable import CarEngine

@Suite("The de-duplication set")
struct IdentitySetTests {
    /// Against `Set<UInt64>` over values with duplicates, zero, and values that collide in the
    /// table's low bits.
    @Test func itAgreesWithTheStandardSet() {
        var ours = IdentitySet()
        var reference = Set<UInt64>()
        var generator = SystemRandomNumberGenerator()
        var values: [UInt64] = [0, 0, 1, UInt64.max, UInt64.max]
        for i in 0..<20_000 { values.append(UInt64(i) << 40) }  // equal low bits
        for _ in 0..<50_000 { values.append(UInt64.random(in: 0..<30_000, using: &generator)) }
        for _ in 0..<50_000 { values.append(generator.next()) }
        values.shuffle(using: &generator)
        for v in values {
            let inserted = ours.insert(v)
            #expect(inserted == reference.insert(v).inserted, "\(v)")
        }
        #expect(ours.count == reference.count)
        for v in values.prefix(1000) { #expect(ours.contains(v)) }
        #expect(!ours.contains(12_345_678_901) || reference.contains(12_345_678_901))
    }

    @Test func identitiesOfObjectsInACollection() {
        var set = IdentitySet()
        let first = set.insert(Hash64.of("asset/1"))
        let again = set.insert(Hash64.of("asset/1"))
        let second = set.insert(Hash64.of("asset/2"))
        #expect(first && !again && second)
        #expect(set.count == 2)
    }
}
