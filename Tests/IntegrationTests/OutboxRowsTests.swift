import LienThongSimulation
import Testing

@testable import LienThongWorker

@Suite("Outbox rows grouped by shard")
struct OutboxRowsTests {
    /// The orders the insert can produce: none moved, one cycle through every element, pairs swapped, reversed,
    /// and shuffles with cycles of every length.
    static let orders: [[Int]] = {
        var generator = SeededGenerator(seed: 7)
        var orders: [[Int]] = [
            [], [0], Array(0..<6), [1, 2, 3, 4, 5, 0], [1, 0, 3, 2, 5, 4], Array((0..<7).reversed()),
        ]
        for count in [2, 9, 64, 1000] { orders.append(Array(0..<count).shuffled(using: &generator)) }
        return orders
    }()

    @Test(arguments: orders)
    func recordsAreRearrangedIntoTheGivenOrder(order: [Int]) {
        let original = (0..<order.count).map { "record \($0) of a dossier's shard" }
        var rearranged = original
        rearranged.rearrange(takingFrom: order)
        #expect(rearranged == order.map { original[$0] })
    }
}
