import TandemProtocol
import Testing

@Test(arguments: [
    (HLC(milliseconds: 1_763_812_345_678, counter: 0, device: "d"), "001763812345678.00000.d"),
    (HLC(milliseconds: 5, counter: 42, device: "0193abcd"), "000000000000005.00042.0193abcd"),
    (HLC(milliseconds: 0, counter: 0, device: "x"), "000000000000000.00000.x"),
    (HLC(milliseconds: 999_999_999_999_999, counter: 99_999, device: "dev.ice"), "999999999999999.99999.dev.ice"),
])
func textFormIsPaddedMillisecondsCounterAndDevice(clock: HLC, text: String) {
    #expect(clock.description == text)
    #expect("\(clock)" == text)
    #expect(HLC(text) == clock)
}

@Test func deviceMayContainDots() {
    let clock = HLC("001763812345678.00007.a.b.c")
    #expect(clock == HLC(milliseconds: 1_763_812_345_678, counter: 7, device: "a.b.c"))
}

@Test(arguments: [
    "",
    "001763812345678.00000",
    "001763812345678.00000.",
    "1763812345678.00000.d",
    "01763812345678.00000.d",
    "0001763812345678.00000.d",
    "001763812345678.0000.d",
    "001763812345678.000000.d",
    "00176381234567a.00000.d",
    "001763812345678.0000a.d",
    "+01763812345678.00000.d",
    "-01763812345678.00000.d",
    " 01763812345678.00000.d",
    "001763812345678.+0000.d",
    "001763812345678-00000-d",
    "001763812345678..d",
    ".00000.d",
    "００1763812345678.00000.d",
])
func malformedTextIsNotAnHLC(text: String) {
    #expect(HLC(text) == nil)
}

@Test func advancingJumpsToTheWallClockWhenItIsAhead() {
    let clock = HLC(milliseconds: 1_000, counter: 17, device: "d")
    #expect(clock.advanced(now: 2_000) == HLC(milliseconds: 2_000, counter: 0, device: "d"))
}

@Test(arguments: [1_000, 999, 0, -5] as [Int64])
func advancingCountsWhenTheWallClockStandsStillOrGoesBack(now: Int64) {
    let clock = HLC(milliseconds: 1_000, counter: 17, device: "d")
    let next = clock.advanced(now: now)
    #expect(next == HLC(milliseconds: 1_000, counter: 18, device: "d"))
    #expect(next > clock)
}

@Test func counterOverflowCarriesToTheNextMillisecond() {
    let clock = HLC(milliseconds: 1_000, counter: HLC.maxCounter, device: "d")
    #expect(HLC.maxCounter == 99_999)
    let next = clock.advanced(now: 1_000)
    #expect(next == HLC(milliseconds: 1_001, counter: 0, device: "d"))
    #expect(next > clock)
    #expect(next.description > clock.description)
}

@Test func advancingWithAFrozenClockIsStrictlyIncreasing() {
    var clock = HLC(milliseconds: 1_000, counter: 99_990, device: "d")
    var texts = [clock.description]
    for _ in 0..<250_000 {
        let next = clock.advanced(now: 1_000)
        guard next > clock, next.description > clock.description else {
            Issue.record("\(next) is not after \(clock)")
            return
        }
        clock = next
        texts.append(clock.description)
    }
    #expect(clock.milliseconds == 1_003)
    #expect(texts == texts.sorted())
}

@Test func receivingAReceiptFromTheFutureMovesPastIt() {
    let local = HLC(milliseconds: 1_000, counter: 3, device: "a")
    let remote = HLC(milliseconds: 5_000, counter: 9, device: "b")
    let received = local.receiving(remote, now: 1_200)
    #expect(received == HLC(milliseconds: 5_000, counter: 10, device: "a"))
    #expect(received > local)
    #expect(received > remote)
}

@Test func receivingWhenTheWallClockIsAheadOfBothTakesTheWallClock() {
    let local = HLC(milliseconds: 1_000, counter: 3, device: "a")
    let remote = HLC(milliseconds: 2_000, counter: 9, device: "b")
    #expect(local.receiving(remote, now: 3_000) == HLC(milliseconds: 3_000, counter: 0, device: "a"))
}

@Test func receivingAnOlderRemoteKeepsCountingLocally() {
    let local = HLC(milliseconds: 5_000, counter: 3, device: "a")
    let remote = HLC(milliseconds: 1_000, counter: 50, device: "b")
    #expect(local.receiving(remote, now: 4_000) == HLC(milliseconds: 5_000, counter: 4, device: "a"))
}

@Test func receivingTheSameMillisecondTakesTheHigherCounter() {
    let local = HLC(milliseconds: 5_000, counter: 3, device: "z")
    let remote = HLC(milliseconds: 5_000, counter: 50, device: "a")
    let received = local.receiving(remote, now: 5_000)
    #expect(received == HLC(milliseconds: 5_000, counter: 51, device: "z"))
}

@Test func receivingAtTheCounterLimitCarries() {
    let local = HLC(milliseconds: 5_000, counter: HLC.maxCounter, device: "a")
    let remote = HLC(milliseconds: 5_000, counter: HLC.maxCounter, device: "b")
    let received = local.receiving(remote, now: 0)
    #expect(received == HLC(milliseconds: 5_001, counter: 0, device: "a"))
}

@Test func comparisonIsMillisecondsThenCounterThenDevice() {
    let a = HLC(milliseconds: 1, counter: 99_999, device: "z")
    let b = HLC(milliseconds: 2, counter: 0, device: "a")
    let c = HLC(milliseconds: 2, counter: 1, device: "a")
    let d = HLC(milliseconds: 2, counter: 1, device: "b")
    #expect([d, c, b, a].sorted() == [a, b, c, d])
    #expect([d, c, b, a].map(\.description).sorted() == [a, b, c, d].map(\.description))
}

/// A random HLC near `base`, so that equal milliseconds and counters happen often.
private func randomHLC(near base: Int64, using random: inout SplitMix64) -> HLC {
    let devices = ["0193a1b2", "0193a1b3", "a", "b", "ff", "0193a1b2-c3d4-7e5f-8a6b-000000000001"]
    let milliseconds: Int64 =
        Bool.random(using: &random)
        ? base + Int64.random(in: -3...3, using: &random)
        : Int64.random(in: 0...999_999_999_999_999, using: &random)
    let counter =
        Bool.random(using: &random)
        ? Int.random(in: 0...3, using: &random) + (Bool.random(using: &random) ? HLC.maxCounter - 3 : 0)
        : Int.random(in: 0...HLC.maxCounter, using: &random)
    return HLC(milliseconds: milliseconds, counter: counter, device: devices.randomElement(using: &random)!)
}

@Test func textOrderIsClockOrder() {
    var random = SplitMix64.seeded()
    let base: Int64 = 1_763_812_345_678
    for _ in 0..<20_000 {
        let a = randomHLC(near: base, using: &random)
        let b = randomHLC(near: base, using: &random)
        #expect((a < b) == (a.description < b.description), "\(a) vs \(b)")
        #expect((a == b) == (a.description == b.description), "\(a) vs \(b)")
        #expect(HLC(a.description) == a, "\(a)")
    }
}

@Test func receivingAndAdvancingAlwaysMoveForward() {
    var random = SplitMix64.seeded()
    let base: Int64 = 1_763_812_345_678
    for _ in 0..<20_000 {
        var local = randomHLC(near: base, using: &random)
        local.milliseconds = min(local.milliseconds, 999_999_999_999_990)
        var remote = randomHLC(near: base, using: &random)
        remote.milliseconds = min(remote.milliseconds, 999_999_999_999_990)
        let now = Bool.random(using: &random) ? base + Int64.random(in: -5...5, using: &random) : 0
        let received = local.receiving(remote, now: now)
        #expect(received > local, "\(local) receiving \(remote) at \(now) gave \(received)")
        #expect(received > remote, "\(local) receiving \(remote) at \(now) gave \(received)")
        #expect(received.milliseconds >= now)
        #expect(received.device == local.device)
        #expect(received.description > local.description && received.description > remote.description)
        let advanced = local.advanced(now: now)
        #expect(advanced > local, "\(local) advanced at \(now) gave \(advanced)")
        #expect(advanced.milliseconds >= now)
        #expect(HLC(received.description) == received)
    }
}
