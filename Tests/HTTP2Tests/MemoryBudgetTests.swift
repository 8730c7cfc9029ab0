import Testing

@testable import HTTP2

/// The budget's accounting, without sockets: what is held is given back however a request ends, large requests leave
/// a quarter for small ones, and a body is charged for the capacity it occupies.
struct MemoryBudgetTests {
    @Test func largeRequestsLeaveAQuarterForSmallOnes() {
        let budget = MemoryBudget(limitBytes: 1 << 20)
        let bulk = MemoryReservation(budget: budget)
        #expect(bulk.grow(by: 700 * 1024))
        #expect(!bulk.grow(by: 100 * 1024), "a large request may not dip into the last quarter")
        #expect(budget.usedBytes == 700 * 1024)
        var small: [MemoryReservation] = []
        for _ in 0..<5 {
            let request = MemoryReservation(budget: budget)
            #expect(request.grow(by: 60 * 1024))  // small: may use the reserve
            small.append(request)
        }
        #expect(budget.usedBytes == 1000 * 1024)
        let last = MemoryReservation(budget: budget)
        #expect(!last.grow(by: 60 * 1024), "nothing may pass the limit")
        small = []
        #expect(budget.usedBytes == 700 * 1024, "a reservation returns its bytes when it goes")
        bulk.shrink(to: 1000)
        #expect(budget.usedBytes == 1000)
    }

    @Test func bodiesAreChargedForTheirCapacity() {
        let budget = MemoryBudget(limitBytes: 1 << 20)
        let reservation = MemoryReservation(budget: budget)
        var body: [UInt8] = []
        let chunk = [UInt8](repeating: 7, count: 1000)
        // Declared length: sized once, charged once.
        #expect(chunk.withUnsafeBytes { reservation.append($0, to: &body, expectedTotal: 3000) })
        #expect(reservation.bytes == 3000 && body.capacity >= 3000)
        #expect(chunk.withUnsafeBytes { reservation.append($0, to: &body, expectedTotal: nil) })
        #expect(chunk.withUnsafeBytes { reservation.append($0, to: &body, expectedTotal: nil) })
        #expect(reservation.bytes == 3000 && body.count == 3000)
        // Undeclared: doubling, charged as it doubles.
        #expect(chunk.withUnsafeBytes { reservation.append($0, to: &body, expectedTotal: nil) })
        #expect(reservation.bytes == 6000 && body.count == 4000)
        // Refused: the body is unchanged.
        let big = [UInt8](repeating: 1, count: 900 * 1024)
        #expect(!big.withUnsafeBytes { reservation.append($0, to: &body, expectedTotal: nil) })
        #expect(body.count == 4000 && reservation.bytes == 6000)
    }
}
