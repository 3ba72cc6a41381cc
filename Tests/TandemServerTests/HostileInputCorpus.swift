import TandemCompression
import TandemProtocol

/// The hostile-input corpus, class by class (see ``HostileInputTests``).
extension HostileCase {
    static let bodyAndEncoding: [HostileCase] = [
        push(
            "body limit", "2 MiB with Content-Length", Array(repeating: 0x20, count: 2 << 20), status: 413,
            code: "too_large"),
        HostileCase(
            kind: "body limit", name: "2 MiB chunked, no Content-Length", status: 413, code: "too_large", outcomes: nil
        ) {
            bench in
            let chunk = Array(repeating: UInt8(0x20), count: 64 * 1024)
            var body: [UInt8] = []
            for _ in 0..<32 { body += Array("10000\r\n".utf8) + chunk + Array("\r\n".utf8) }
            body += Array("0\r\n\r\n".utf8)
            return RawHTTPConnection.request(
                "POST", "/v1/push",
                headers: [("Authorization", "Bearer \(bench.fixture.coordinator)"), ("Transfer-Encoding", "chunked")],
                body: body)
        },
        push(
            "body limit", "Content-Length far over the limit, small body", Array("{}".utf8), status: 413,
            code: "too_large", headers: [("Content-Length", "2097152")]),
        push(
            "gzip", "gzip bomb: 32 MiB of spaces in 32 KiB", gzipBomb, status: 413, code: "too_large",
            headers: [("Content-Encoding", "gzip")]),
        push(
            "gzip", "gzip bomb inside a valid push", gzipBombPush, status: 413, code: "too_large",
            headers: [("Content-Encoding", "gzip")]),
        push(
            "gzip", "corrupt gzip stream", Array("not gzip at all".utf8), status: 400, code: "bad_json",
            headers: [("Content-Encoding", "gzip")]),
        push(
            "gzip", "truncated gzip stream", Array(gzipBomb.prefix(100)), status: 400, code: "bad_json",
            headers: [("Content-Encoding", "gzip")]),
        push(
            "Content-Encoding", "br", Array("{}".utf8), status: 415, code: "unsupported_encoding",
            headers: [("Content-Encoding", "br")]),
        push(
            "Content-Encoding", "deflate", Array("{}".utf8), status: 415, code: "unsupported_encoding",
            headers: [("Content-Encoding", "deflate")]),
        push(
            "Content-Encoding", "gzip twice", Array("{}".utf8), status: 415, code: "unsupported_encoding",
            headers: [("Content-Encoding", "gzip, gzip")]),
        push(
            "Content-Type", "text/plain", Array(#"{"changes": []}"#.utf8), status: 415, code: "unsupported_media_type",
            headers: [("Content-Type", "text/plain")]),
        push(
            "Content-Type", "application/xml", Array(#"{"changes": []}"#.utf8), status: 415,
            code: "unsupported_media_type", headers: [("Content-Type", "application/xml")]),
        push(
            "Content-Type", "multipart/form-data", Array(#"{"changes": []}"#.utf8), status: 415,
            code: "unsupported_media_type", headers: [("Content-Type", "multipart/form-data; boundary=x")]),
        push(
            "Content-Type", "JSON in UTF-16", Array(#"{"changes": []}"#.utf8), status: 415,
            code: "unsupported_media_type", headers: [("Content-Type", "application/json; charset=utf-16")]),
    ]

    static let malformed: [HostileCase] = [
        push("malformed JSON", "empty body", "", status: 400, code: "bad_json"),
        push("malformed JSON", "open brace", "{", status: 400, code: "bad_json"),
        push("malformed JSON", "unbalanced", #"{"changes": [}"#, status: 400, code: "bad_json"),
        push("malformed JSON", "trailing comma", #"{"changes": [],}"#, status: 400, code: "bad_json"),
        push("malformed JSON", "single quotes", "{'changes': []}", status: 400, code: "bad_json"),
        push("malformed JSON", "a comment", #"{"changes": [] /* x */}"#, status: 400, code: "bad_json"),
        push("malformed JSON", "text after the value", #"{"changes": []} {}"#, status: 400, code: "bad_json"),
        push("malformed JSON", "NaN", #"{"changes": [NaN]}"#, status: 400, code: "bad_json"),
        push("malformed JSON", "lone surrogate", #"{"changes": ["\ud800"]}"#, status: 400, code: "bad_json"),
        push(
            "invalid UTF-8", "0xFF in a string", Array(#"{"changes": [""#.utf8) + [0xFF] + Array(#""]}"#.utf8),
            status: 400, code: "bad_json"),
        push(
            "invalid UTF-8", "overlong '/'", Array(#"{"changes": [""#.utf8) + [0xC0, 0xAF] + Array(#""]}"#.utf8),
            status: 400, code: "bad_json"),
        push(
            "invalid UTF-8", "truncated sequence", Array(#"{"changes": [""#.utf8) + [0xE2, 0x82] + Array(#""]}"#.utf8),
            status: 400, code: "bad_json"),
        push(
            "invalid UTF-8", "UTF-16 body",
            Array(#"{"changes": []}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, status: 400,
            code: "bad_json"),
        push(
            "invalid UTF-8", "surrogate encoded as UTF-8",
            Array(#"{"changes": [""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""]}"#.utf8), status: 400, code: "bad_json"),
        push("duplicate keys", "changes twice", #"{"changes": [], "changes": []}"#, status: 400, code: "bad_json"),
        change("duplicate keys", "table twice", status: 400, code: "bad_json") {
            $0.append(JSONMember("table", .string("person")))
        },
        change("duplicate keys", "a field twice", status: 400, code: "bad_json") {
            $0.append(JSONMember("fields", .object([JSONMember("number", .int(1)), JSONMember("number", .int(2))])))
        },
        push(
            "NUL byte", "raw NUL in a string", Array(#"{"changes": [""#.utf8) + [0] + Array(#""]}"#.utf8), status: 400,
            code: "bad_json"),
        push(
            "NUL byte", "raw NUL after the value", Array(#"{"changes": []}"#.utf8) + [0], status: 400, code: "bad_json"),
        change(
            "NUL byte", "escaped NUL in the table name", status: 200, outcome: rejected("schema:table"),
            set("table", .string("round\u{0}"))),
        change("NUL byte", "escaped NUL in a value", status: 200, outcome: Expected(status: "applied", reason: "")) {
            set("fields", .object([JSONMember("number", .int(3)), JSONMember("title", .string("a\u{0}b"))]))(&$0)
        },
        push(
            "deep nesting", "10 000 nested arrays", String(repeating: "[", count: 10_000), status: 400, code: "bad_json"
        ),
        change("deep nesting", "a value 100 arrays deep", status: 400, code: "bad_json") {
            set(
                "fields",
                .object([JSONMember("title", (0..<100).reduce(JSONValue.null) { value, _ in .array([value]) })]))(&$0)
        },
    ]

    static let shapes: [HostileCase] = [
        push("wrong shape or type", "changes an object", #"{"changes": {}}"#, status: 400, code: "bad_json"),
        push("wrong shape or type", "changes null", #"{"changes": null}"#, status: 400, code: "bad_json"),
        push("wrong shape or type", "a change that is a string", #"{"changes": ["x"]}"#, status: 400, code: "bad_json"),
        push("wrong shape or type", "the body an array", "[]", status: 400, code: "bad_json"),
        change("wrong shape or type", "base_version -1", status: 400, code: "bad_json", set("base_version", .int(-1))),
        change(
            "wrong shape or type", "base_version a string", status: 400, code: "bad_json",
            set("base_version", .string("0"))),
        change(
            "wrong shape or type", "base_version 1.5", status: 400, code: "bad_json", set("base_version", .double(1.5))),
        push(
            "wrong shape or type", "base_version 1e400",
            #"{"changes": [{"change_id": "x", "table": "round", "record_id": "y", "op": "insert", "fields": {}, "base_version": 1e400, "hlc": "h", "device": "d"}]}"#,
            status: 400, code: "bad_json"),
        push(
            "wrong shape or type", "base_version 2^64",
            #"{"changes": [{"change_id": "x", "table": "round", "record_id": "y", "op": "insert", "fields": {}, "base_version": 18446744073709551616, "hlc": "h", "device": "d"}]}"#,
            status: 400, code: "bad_json"),
        change("wrong shape or type", "fields an array", status: 400, code: "bad_json", set("fields", .array([]))),
        change(
            "wrong shape or type", "fields a string", status: 400, code: "bad_json", set("fields", .string("number=1"))),
        change("wrong shape or type", "op upsert", status: 400, code: "bad_json", set("op", .string("upsert"))),
        change("wrong shape or type", "no change_id", status: 400, code: "bad_json") {
            $0.removeAll { $0.key == "change_id" }
        },
        change("wrong shape or type", "table a number", status: 400, code: "bad_json", set("table", .int(7))),
    ]

    static let schemaAndInjection: [HostileCase] = [
        change(
            "unknown table or field", "unknown table", status: 200, outcome: rejected("schema:table"),
            set("table", .string("meeting"))),
        change(
            "unknown table or field", "unknown field", status: 200, outcome: rejected("schema:field:"),
            set("fields", .object([JSONMember("number", .int(1)), JSONMember("colour", .string("red"))]))),
        change(
            "unknown table or field", "wrong type", status: 200, outcome: rejected("schema:type:number"),
            set("fields", .object([JSONMember("number", .string("five"))]))),
        change(
            "unknown table or field", "the internal log table", status: 200, outcome: rejected("schema:table"),
            set("table", .string("log"))),
        change(
            "SQL injection", "in the table name", status: 200, outcome: rejected("schema:table"),
            set("table", .string("round; DROP TABLE log; --"))),
        change(
            "SQL injection", "quote in the table name", status: 200, outcome: rejected("schema:table"),
            set("table", .string("' OR '1'='1"))),
        change(
            "SQL injection", "in a field name", status: 200, outcome: rejected("schema:field:"),
            set("fields", .object([JSONMember("number\" = 1; DROP TABLE record; --", .int(1))]))),
        change(
            "SQL injection", "in the record id", status: 200, outcome: rejected("schema:record_id"),
            set("record_id", .string("1' OR '1'='1"))),
        change(
            "SQL injection", "in the change id", status: 200, outcome: rejected("schema:change_id"),
            set("change_id", .string("'); DELETE FROM log; --"))),
        change(
            "SQL injection", "in the HLC", status: 200, outcome: rejected("schema:hlc"),
            set("hlc", .string("'; DROP TABLE token; --"))),
        change(
            "SQL injection", "in a value (kept verbatim)", status: 200,
            outcome: Expected(status: "applied", reason: ""),
            set(
                "fields",
                .object([JSONMember("number", .int(4)), JSONMember("title", .string("'); DROP TABLE log; --"))]))),
        get("SQL injection", "/v1/pull?since=0;DROP%20TABLE%20log", status: 400, code: "bad_query"),
        HostileCase(kind: "SQL injection", name: "in a conflict id", status: 404, code: "not_found", outcomes: nil) {
            bench in
            RawHTTPConnection.request(
                "POST", "/v1/conflicts/'%20OR%201=1%20--/resolve",
                headers: [("Authorization", "Bearer \(bench.fixture.coordinator)")],
                body: Array(#"{"keep": "current"}"#.utf8))
        },
        change(
            "clock", "an HLC in the year 9999", status: 200, outcome: rejected("clock"),
            set("hlc", .string(HLC(milliseconds: 253_402_300_799_000, counter: 0, device: "device-1").description))),
        change(
            "clock", "an HLC six minutes ahead", status: 200, outcome: rejected("clock"),
            set(
                "hlc",
                .string(HLC(milliseconds: ServerFixture.now + 360_000, counter: 0, device: "device-1").description))),
        change(
            "clock", "an HLC that is not one", status: 200, outcome: rejected("schema:hlc"),
            set("hlc", .string("tomorrow"))),
    ]

    static let queries: [HostileCase] = [
        get("cursor and limit", "/v1/pull?since=-1", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?since=99999999999999999999", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?since=1e3", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?since=", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?limit=0", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?limit=1000000", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?limit=abc", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?limit=-5", status: 400, code: "bad_query"),
        get("cursor and limit", "/v1/pull?since=9223372036854775807", status: 200),
        get("cursor and limit", "/v1/conflicts?all=maybe", status: 400, code: "bad_query"),
        get("checkpoint", "/v1/checkpoint?seq=0", status: 400, code: "bad_query"),
        get("checkpoint", "/v1/checkpoint?seq=-3", status: 400, code: "bad_query"),
        get("checkpoint", "/v1/checkpoint?seq=99999999999999999999", status: 400, code: "bad_query"),
        get("checkpoint", "/v1/checkpoint?seq=9223372036854775807", status: 200),
        get("checkpoint", "/v1/checkpoint?hash=\(String(repeating: "a", count: 64))", status: 400, code: "bad_query"),
        get(
            "checkpoint", "/v1/checkpoint?seq=1&hash=\(String(repeating: "a", count: 64))&time=t&signature=%00%ff",
            status: 200),
        get(
            "checkpoint",
            "/v1/checkpoint?seq=1&hash=\(String(repeating: "a", count: 64))&time=t&signature="
                + String(repeating: "A", count: 200), status: 400, code: "bad_query"),
    ]

    static let sizes: [HostileCase] = [
        change(
            "oversized value", "text one byte over 64 KiB (that change alone refused)", status: 200,
            outcome: rejected("value_too_large"),
            set(
                "fields",
                .object([
                    JSONMember("number", .int(5)),
                    JSONMember("title", .string(String(repeating: "x", count: WireProtocol.maximumValueSize - 1))),
                ]))),
        change(
            "oversized value", "text of exactly 64 KiB (accepted)", status: 200,
            outcome: Expected(status: "applied", reason: ""),
            set(
                "fields",
                .object([
                    JSONMember("number", .int(6)),
                    JSONMember("title", .string(String(repeating: "x", count: WireProtocol.maximumValueSize - 2))),
                ]))),
        change(
            "oversized value", "a set of 20 000 tags (that change alone refused)", status: 200,
            outcome: rejected("value_too_large"),
            set("fields", .object([JSONMember("tags", .array((0..<20_000).map { .string("tag\($0)") }))]))),
        change(
            "oversized value", "a 2 KiB record id", status: 413, code: "value_too_large",
            set("record_id", .string(String(repeating: "7", count: 2048)))),
        change(
            "oversized value", "a 2 KiB field name", status: 413, code: "value_too_large",
            set("fields", .object([JSONMember(String(repeating: "f", count: 2048), .int(1))]))),
        change(
            "oversized value", "a 2 KiB table name", status: 413, code: "value_too_large",
            set("table", .string(String(repeating: "t", count: 2048)))),
        push(
            "too many changes", "10 001 empty changes",
            "{\"changes\": ["
                + Array(repeating: "{}", count: WireProtocol.maximumChangesPerPush + 1).joined(separator: ",") + "]}",
            status: 413, code: "too_many_changes"),
    ]

    static let protocolLevel: [HostileCase] = [
        HostileCase(
            kind: "huge header", name: "a 100 KiB header", status: 431, code: "headers_too_large", outcomes: nil
        ) { bench in
            RawHTTPConnection.request(
                "GET", "/v1/whoami",
                headers: [
                    ("Authorization", "Bearer \(bench.fixture.coordinator)"),
                    ("X-Padding", String(repeating: "a", count: 100 * 1024)),
                ])
        },
        HostileCase(kind: "huge header", name: "2000 headers", status: 431, code: "headers_too_large", outcomes: nil) {
            bench in
            RawHTTPConnection.request("GET", "/v1/whoami", headers: (0..<2000).map { ("X-H\($0)", "v") })
        },
        HostileCase(kind: "huge header", name: "a 100 KiB path", status: 431, code: "headers_too_large", outcomes: nil)
        { _ in
            RawHTTPConnection.request("GET", "/v1/pull?since=" + String(repeating: "9", count: 100 * 1024))
        },
        HostileCase(
            kind: "huge header", name: "a header without a colon", status: 400, code: "bad_request", outcomes: nil
        ) { _ in
            Array("GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".utf8)
        },
        resolve("/v1/conflicts/../../etc/passwd/resolve"),
        resolve("/v1/conflicts/..%2F..%2Fetc%2Fpasswd/resolve"),
        resolve("/v1/conflicts/%2e%2e/resolve"),
        resolve("/v1/conflicts/%00/resolve"),
        get("path traversal", "/v1/../healthz", status: 404, code: "not_found"),
        get("method not allowed", "/v1/push", status: 405, code: "method_not_allowed", method: "DELETE"),
        get("method not allowed", "/v1/push", status: 405, code: "method_not_allowed", method: "GET"),
        get("method not allowed", "/v1/pull", status: 405, code: "method_not_allowed", method: "PUT"),
        get("method not allowed", "/healthz", status: 405, code: "method_not_allowed", method: "PATCH"),
        get("method not allowed", "/openapi.json", status: 405, code: "method_not_allowed", method: "POST"),
        get("method not allowed", "/v1/conflicts/x/resolve", status: 405, code: "method_not_allowed", method: "GET"),
        get("method not allowed", "/v1/push", status: 400, code: "bad_request", method: "BREW"),
        HostileCase(
            kind: "authentication", name: "push without a token", status: 401, code: "unauthorized", outcomes: nil
        ) { _ in
            RawHTTPConnection.request("POST", "/v1/push", body: Array(#"{"changes": []}"#.utf8))
        },
        HostileCase(kind: "authentication", name: "SQL in the token", status: 401, code: "unauthorized", outcomes: nil)
        { _ in
            RawHTTPConnection.request("GET", "/v1/whoami", headers: [("Authorization", "Bearer ' OR 1=1 --")])
        },
        HostileCase(kind: "authentication", name: "an auditor's push", status: 403, code: "forbidden", outcomes: nil) {
            bench in
            RawHTTPConnection.request(
                "POST", "/v1/push", headers: [("Authorization", "Bearer \(bench.auditor)")],
                body: Array(#"{"changes": []}"#.utf8))
        },
    ]

    /// Changes whose signature is missing, forged or not theirs: a 200 with `signature`, and logged.
    static let signatures: [HostileCase] = [
        change(
            "signature", "no signature", status: 200, outcome: rejected("signature"),
            afterSigning: { $0.removeAll { $0.key == "signature" } }, { _ in }),
        change(
            "signature", "a null signature", status: 200, outcome: rejected("signature"),
            afterSigning: set("signature", .null), { _ in }),
        change(
            "signature", "an empty signature", status: 200, outcome: rejected("signature"),
            afterSigning: set("signature", .string("")), { _ in }),
        change(
            "signature", "a signature that is not base64", status: 200, outcome: rejected("signature"),
            afterSigning: set("signature", .string("not base64 at all!")), { _ in }),
        change(
            "signature", "64 zero bytes", status: 200, outcome: rejected("signature"),
            afterSigning: set("signature", .string(Base64.encode([UInt8](repeating: 0, count: 64)))), { _ in }),
        change(
            "signature", "a signature that is a number", status: 400, code: "bad_json",
            afterSigning: set("signature", .int(7)), { _ in }),
        change(
            "signature", "signed by another key", status: 200, outcome: rejected("signature"),
            afterSigning: { members in
                members.removeAll { $0.key == "signature" }
                let bytes = JSONValue.object(members).canonicalBytes()
                members.append(JSONMember("signature", .string(SigningKey().sign(bytes))))
            }, { _ in }),
        change(
            "signature", "a field changed after signing", status: 200, outcome: rejected("signature"),
            afterSigning: set("fields", .object([JSONMember("number", .int(3))])), { _ in }),
        change(
            "signature", "the HLC changed after signing", status: 200, outcome: rejected("signature"),
            afterSigning: set(
                "hlc", .string(HLC(milliseconds: ServerFixture.now - 1, counter: 0, device: "device-1").description)),
            { _ in }),
        change(
            "signature", "an unregistered device", status: 200, outcome: rejected("signature"),
            set("device", .string("never-registered"))),
        change(
            "signature", "the server's device", status: 200, outcome: rejected("signature"),
            set("device", .string(DeviceRegistry.serverDevice))),
        change(
            "signature", "a device registration pushed as a change", status: 200, outcome: rejected("schema:table")
        ) { members in
            set("table", .string(DeviceRegistry.table))(&members)
            set("record_id", .string("rogue-device"))(&members)
            set("fields", .object([JSONMember("public_key", .string(SigningKey().publicKey))]))(&members)
        },
    ]

    static func resolve(_ target: String) -> HostileCase {
        HostileCase(kind: "path traversal", name: "POST \(target)", status: 404, code: "not_found", outcomes: nil) {
            bench in
            RawHTTPConnection.request(
                "POST", target, headers: [("Authorization", "Bearer \(bench.fixture.coordinator)")],
                body: Array(#"{"keep": "current"}"#.utf8))
        }
    }

    /// 32 MiB of spaces after `{"changes": [`, gzipped to a few KiB.
    static let gzipBomb: [UInt8] = (try? Gzip.compress(Array(repeating: 0x20, count: 32 << 20))) ?? []
    static let gzipBombPush: [UInt8] =
        (try? Gzip.compress(Array(#"{"changes": ["#.utf8) + Array(repeating: 0x20, count: 8 << 20) + Array("]}".utf8)))
        ?? []
}
