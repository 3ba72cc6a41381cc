import HTTPTypes
import HummingbirdTesting
import TandemProtocol
import Testing

@testable import TandemServer

/// `GET /openapi.json`: served without a token, OpenAPI 3.1, and describing every route.
@Suite struct OpenAPITests {
    @Test func documentIsServedWithoutATokenAndDescribesEveryRoute() async throws {
        let fixture = try ServerFixture()
        try await fixture.app().test(.router) { client in
            let reply = try await client.call(.get, "/openapi.json")
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "application/json")
            let document = try reply.json
            #expect(document == OpenAPIDocument.json)
            #expect(document["openapi"] == .string("3.1.0"))
            guard case let .object(paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            for endpoint in Endpoint.all {
                let operation = paths.first { $0.key == endpoint.path }?.value[endpoint.method.rawValue.lowercased()]
                #expect(operation?["operationId"] == .string(endpoint.operationID), "\(endpoint.path)")
                // The errors it states are those the endpoint names, at the statuses their codes have.
                for code in endpoint.errors {
                    let response = operation?["responses"]?[String(code.httpStatus)]
                    #expect(
                        response?["description"].flatMap { description -> Bool? in
                            guard case let .string(text) = description else { return nil }
                            return text.contains("`\(code.rawValue)`")
                        } == true, "\(endpoint.path): \(code) at \(code.httpStatus)")
                }
                #expect((operation?["security"] == .array([])) == (endpoint.callers == nil), "\(endpoint.path)")
            }
            #expect(paths.count == Endpoint.all.count)
        }
    }

    @Test func documentStatesTheLimitsTheServerEnforces() throws {
        let document = OpenAPIDocument.json
        guard case let .array(parameters)? = document["paths"]?["/v1/pull"]?["get"]?["parameters"] else {
            Issue.record("no pull parameters")
            return
        }
        let schemas = Dictionary(
            uniqueKeysWithValues: parameters.compactMap { parameter -> (String, JSONValue)? in
                guard case let .string(name)? = parameter["name"], let schema = parameter["schema"] else { return nil }
                return (name, schema)
            })
        #expect(schemas["since"]?["minimum"] == .int(0))
        #expect(schemas["limit"]?["minimum"] == .int(1))
        #expect(schemas["limit"]?["maximum"] == .int(Int64(WireProtocol.maximumPullLimit)))
        #expect(document["components"]?["securitySchemes"]?["bearerAuth"]?["scheme"] == .string("bearer"))
        // Every $ref points at something defined.
        var references: [String] = []
        func collect(_ value: JSONValue) {
            switch value {
            case let .object(members):
                for member in members {
                    if member.key == "$ref", case let .string(target) = member.value { references.append(target) }
                    collect(member.value)
                }
            case let .array(items): items.forEach(collect)
            default: break
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in references {
            let parts = reference.split(separator: "/").dropFirst().map(String.init)
            #expect(parts.reduce(Optional(document)) { $0?[$1] } != nil, "\(reference) is not defined")
        }
    }
}
