import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// `tandem-server` opens and creates stores only through ``StoreLocation``.
@Suite struct StoreLocationTests {
    static let now: Int64 = 1_790_000_000_000

    @Test func aCreatedStoreOpensAgainWithItsTokensAndHistory() async throws {
        let folder = try TemporaryDirectory(prefix: "tandem-location")
        let location = StoreLocation.directory(folder.path("data"))
        let (created, token) = try await location.create(now: Self.now)
        #expect(try await created.authenticate(token: token)?.role == .coordinator)
        let head = try await created.headSeq()
        #expect(head >= 1, "the server's key is registered as entry 1")

        let opened = try await location.open()
        #expect(try await opened.authenticate(token: token)?.role == .coordinator)
        #expect(try await opened.headSeq() == head)
        #expect(try await opened.verify().failure == nil)

        let again = await #expect(throws: ServerError.self) { try await location.create(now: Self.now) }
        #expect(again?.failure == .exists)
    }

    @Test func nothingThereIsNoStore() async throws {
        let folder = try TemporaryDirectory(prefix: "tandem-location")
        let missing = await #expect(throws: ServerError.self) {
            try await StoreLocation.directory(folder.path("none")).open()
        }
        #expect(missing?.failure == .noStore)
    }
}
