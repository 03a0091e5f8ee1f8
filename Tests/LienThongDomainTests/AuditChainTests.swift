import LienThongDomain
import PropertyBased
import Testing

private func chain(_ count: Int) -> [(record: AuditRecord, storedHash: [UInt8])] {
    var previous = AuditChain.genesis
    return (1...count).map { index in
        let record = AuditRecord(
            dossier: "001.00.80.H26-250702-0001", sequence: Int64(index), version: Int64(index), eventID: "e\(index)",
            eventType: "vn.gov.lienthong.dossier.status-changed", status: 4,
            occurredAtMilliseconds: 1_751_418_900_000 + Int64(index),
            payloadDigest: AuditChain.digest(Array("payload \(index)".utf8)))
        previous = AuditChain.hash(record, previous: previous)
        return (record, previous)
    }
}

@Suite("Audit hash chain")
struct AuditChainTests {
    @Test func anIntactChainVerifies() {
        #expect(AuditChain.firstBrokenLink(chain(10)) == nil)
        #expect(AuditChain.firstBrokenLink([]) == nil)
    }

    /// Chains stored by earlier releases must keep verifying: the canonical encoding is pinned.
    @Test func theEncodingIsStable() {
        let hex = { (bytes: [UInt8]) in bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
        #expect(hex(chain(3)[2].storedHash) == "ac0d1ab05f2409b51be813881e712978ae9c8027d946a31bd3de09b22eb070b0")
    }

    @Test func removingOrReorderingAnEntryIsReported() {
        var entries = chain(6)
        entries.remove(at: 2)
        #expect(AuditChain.firstBrokenLink(entries) == 4)
        var swapped = chain(6)
        swapped.swapAt(1, 2)
        #expect(AuditChain.firstBrokenLink(swapped) == 3)
    }

    @Test func anyChangeToAnyEntryIsDetectedAtThatEntry() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...7), Gen.int(in: 0...4)) { index, field in
            var entries = chain(8)
            let original = entries[index].record
            let tampered = AuditRecord(
                dossier: original.dossier, sequence: original.sequence,
                version: field == 0 ? original.version + 1 : original.version,
                eventID: field == 1 ? "forged" : original.eventID,
                eventType: original.eventType, status: field == 2 ? 9 : original.status,
                occurredAtMilliseconds: field == 3
                    ? original.occurredAtMilliseconds - 1 : original.occurredAtMilliseconds,
                payloadDigest: field == 4 ? AuditChain.digest([1]) : original.payloadDigest)
            entries[index] = (tampered, entries[index].storedHash)
            #expect(AuditChain.firstBrokenLink(entries) == Int64(index + 1))
        }
    }
}
