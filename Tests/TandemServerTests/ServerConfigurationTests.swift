import TandemServer
import Testing

@Suite struct ServerConfigurationTests {
    @Test func defaultsAreThoseOfTheSpec() {
        let configuration = ServerConfiguration(dataDirectory: "/tmp/data")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.maximumBodySize == 16 * 1024 * 1024)
    }
}
