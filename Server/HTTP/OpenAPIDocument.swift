import TandemProtocol

/// The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json` (no token needed).
///
/// It is kept here as JSON text, so that it reads as the document it is; the limits it states
/// come from the code that enforces them. Keep it in step with ``RouteTable`` (a test checks
/// that every route is described) and with the wire types (scripts/schemathesis.sh checks the
/// live server's answers against it).
enum OpenAPIDocument {
    /// The document, parsed once (a test checks that the text parses: an empty object here would
    /// be a build mistake, not something a request can cause).
    static let json: JSONValue = (try? JSONValue.parse(text)) ?? .object([])

    private static let errorResponses = #"""
        "BadRequest": {"description": "The request is malformed (body, query or path).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "Unauthorized": {"description": "No, unknown or revoked token.", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "Forbidden": {"description": "The token's role may not use this endpoint (an auditor's push).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "NotFound": {"description": "No such resource.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "Conflict": {"description": "The conflict is already resolved.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "TooLarge": {"description": "The body is over the limit (before or after gzip; `too_large`), carries too many changes (`too_many_changes`), or an identifier over its limit (`value_too_large`). Nothing is written. (A field value over its limit is not a 413: that change alone is rejected with reason `value_too_large`.)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "UnsupportedMediaType": {"description": "A Content-Type other than JSON (`unsupported_media_type`) or a Content-Encoding other than gzip (`unsupported_encoding`).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "TooManyRequests": {"description": "Over the token's rate limit (`rate_limited`); retry after `Retry-After` seconds.", "headers": {"Retry-After": {"schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "Unavailable": {"description": "The store is unavailable; retry later.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        """#

    private static let schemas = #"""
        "Error": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string", "description": "A stable code: bad_json, bad_query, unauthorized, forbidden, not_found, method_not_allowed, too_large, too_many_changes, value_too_large, unsupported_media_type, unsupported_encoding, rate_limited, headers_too_large, …"}, "message": {"type": "string"}}},
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
        "Role": {"type": "string", "enum": ["member", "coordinator", "auditor"]},
        "WhoAmI": {"type": "object", "required": ["organisation", "role"], "properties": {"organisation": {"type": ["string", "null"]}, "role": {"$ref": "#/components/schemas/Role"}}},
        "SchemaDocument": {"type": "object", "description": "The schema the server merges with (tables, fields, rules)."},
        "Identifier": {"type": "string", "maxLength": \#(WireProtocol.maximumIdentifierSize)},
        "Change": {"type": "object", "required": ["change_id", "table", "record_id", "op", "fields", "base_version", "hlc", "device"], "properties": {
            "change_id": {"$ref": "#/components/schemas/Identifier", "description": "A UUIDv7; another id is rejected with reason schema:change_id."},
            "table": {"$ref": "#/components/schemas/Identifier"},
            "record_id": {"$ref": "#/components/schemas/Identifier"},
            "op": {"type": "string", "enum": ["insert", "update", "delete"]},
            "fields": {"type": "object", "description": "Only the fields the change sets; each value at most \#(WireProtocol.maximumValueSize) bytes of JSON (a change with a bigger one is rejected, reason value_too_large); integers within ±\#(WireProtocol.maximumSafeInteger) (RFC 7493), else the push is 400.", "propertyNames": {"maxLength": \#(WireProtocol.maximumIdentifierSize)}},
            "base_version": {"type": "integer", "minimum": 0, "maximum": \#(WireProtocol.maximumSafeInteger)},
            "hlc": {"$ref": "#/components/schemas/Identifier", "description": "15-digit milliseconds, '.', 5-digit counter, '.', device id; more than 5 minutes ahead of the server is rejected with reason clock."},
            "device": {"$ref": "#/components/schemas/Identifier"},
            "signature": {"$ref": "#/components/schemas/Identifier"}}},
        "PushRequest": {"type": "object", "required": ["changes"], "properties": {"changes": {"type": "array", "maxItems": \#(WireProtocol.maximumChangesPerPush), "items": {"$ref": "#/components/schemas/Change"}}}},
        "Status": {"type": "string", "enum": ["applied", "merged", "conflict", "rejected", "duplicate"]},
        "PushResult": {"type": "object", "required": ["change_id", "status", "seq", "version", "reason"], "properties": {"change_id": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"}, "seq": {"type": ["integer", "null"]}, "version": {"type": ["integer", "null"]}, "reason": {"type": ["string", "null"], "description": "Why a change was rejected: schema:…, check:…, clock, value_too_large, signature, deleted, referenced, unique:…, reference:…, not_permitted."}}},
        "PushResponse": {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/PushResult"}}}},
        "Author": {"type": "object", "required": ["organisation", "role"], "properties": {"organisation": {"type": ["string", "null"]}, "role": {"type": "string", "enum": ["member", "coordinator", "auditor", "server"]}, "device": {"type": ["string", "null"]}}},
        "DeviceRegistration": {"type": "object", "required": ["device", "public_key"], "properties": {"device": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$", "description": "The replica's device id (not `server`)."}, "public_key": {"type": "string", "description": "The device's Ed25519 public key: 32 bytes, base64."}}},
        "Device": {"type": "object", "required": ["device", "public_key", "organisation", "seq"], "properties": {"device": {"type": "string"}, "public_key": {"type": "string"}, "organisation": {"type": ["string", "null"]}, "seq": {"type": "integer", "description": "The history entry that registered it."}}},
        "Checkpoint": {"type": "object", "required": ["seq", "hash", "time", "public_key", "signature"], "properties": {"seq": {"type": "integer"}, "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "time": {"type": "string"}, "public_key": {"type": "string", "description": "The server's Ed25519 public key, base64."}, "signature": {"type": "string", "description": "Ed25519 over the RFC 8785 bytes of {seq, hash, time}, base64."}}},
        "FieldConflict": {"type": "object", "required": ["field", "rule", "kept", "lost"], "properties": {"field": {"type": "string"}, "rule": {"type": "string"}, "kept": {}, "lost": {}}},
        "Outcome": {"type": "object", "required": ["status"], "properties": {"status": {"$ref": "#/components/schemas/Status"}, "version": {"type": ["integer", "null"]}, "applied": {"type": "array", "items": {"type": "string"}}, "conflicts": {"type": "array", "items": {"$ref": "#/components/schemas/FieldConflict"}}, "reason": {"type": ["string", "null"]}}},
        "Entry": {"type": "object", "required": ["change_id", "time", "author", "op", "fields", "outcome"], "properties": {"change_id": {"type": "string"}, "time": {"type": "string"}, "author": {"$ref": "#/components/schemas/Author"}, "op": {"type": "string", "enum": ["insert", "update", "delete"]}, "fields": {"type": "object"}, "outcome": {"$ref": "#/components/schemas/Outcome"}, "hlc": {"type": ["string", "null"]}, "base_version": {"type": ["integer", "null"], "description": "The version the change was made on."}, "device": {"type": ["string", "null"], "description": "The device that signed the change."}, "signature": {"type": ["string", "null"], "description": "The change's signature, so that a replica can hand the change back to a server that lost it."}}},
        "PullItem": {"type": "object", "required": ["seq", "table", "record_id", "version", "deleted", "record", "entry"], "properties": {"seq": {"type": "integer"}, "table": {"type": "string"}, "record_id": {"type": "string"}, "version": {"type": "integer"}, "deleted": {"type": "boolean"}, "visible": {"type": "boolean", "description": "false: the record no longer reaches this caller and leaves its replica"}, "record": {"type": ["object", "null"]}, "entry": {"oneOf": [{"$ref": "#/components/schemas/Entry"}, {"type": "null"}]}}},
        "PullResponse": {"type": "object", "required": ["items", "next", "more"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/PullItem"}}, "next": {"type": "integer", "minimum": 0}, "more": {"type": "boolean"}, "checkpoint": {"description": "The history entry at `next` signed by the server (null when next is 0): the replica presents it at its next sync (GET /v1/checkpoint).", "oneOf": [{"$ref": "#/components/schemas/Checkpoint"}, {"type": "null"}]}, "schema_version": {"type": "integer", "minimum": 1, "description": "the version of the schema the server merges with; a replica on an older one fetches /v1/schema and migrates first"}}},
        "TableDigest": {"type": "object", "required": ["table", "records", "digest"], "properties": {"table": {"type": "string"}, "records": {"type": "integer", "minimum": 0, "description": "Live records of the table the token may see."}, "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "XOR of each record's SHA-256 over the RFC 8785 bytes of [id, version, {field: value} of its set fields]; 64 zeros for none (docs/sync.md)."}}},
        "DigestResponse": {"type": "object", "required": ["tables"], "properties": {"tables": {"type": "array", "items": {"$ref": "#/components/schemas/TableDigest"}, "description": "One a schema table, in the schema's order."}}},
        "Conflict": {"type": "object", "required": ["id", "table", "record_id", "field", "current", "incoming", "status"], "properties": {"id": {"type": "string"}, "table": {"type": "string"}, "record_id": {"type": "string"}, "field": {"type": "string"}, "current": {}, "incoming": {}, "status": {"type": "string", "enum": ["open", "resolved"]}}},
        "Resolution": {"oneOf": [
            {"type": "object", "required": ["keep"], "properties": {"keep": {"type": "string", "enum": ["current", "incoming"]}}, "not": {"required": ["value"]}},
            {"type": "object", "required": ["value"], "properties": {"value": {}}, "not": {"required": ["keep"]}}]}
        """#

    private static let paths = #"""
        "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness.", "security": [], "responses": {"200": {"description": "Serving.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document.", "security": [], "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/v1/whoami": {"get": {"operationId": "whoami", "summary": "Who the token stands for.", "responses": {"200": {"description": "The token's organisation and role.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WhoAmI"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/schema": {"get": {"operationId": "schema", "summary": "The schema document.", "responses": {"200": {"description": "The schema.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SchemaDocument"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/push": {"post": {"operationId": "push", "summary": "Push changes: one result a change, in order; 200 even when every change is rejected.", "description": "Members and coordinators. The body may be gzip (Content-Encoding) and is at most the configured limit (default 16 MiB) before and after decompression; a malformed body writes nothing.", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}}}, "responses": {"200": {"description": "One result a change.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushResponse"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/UnsupportedMediaType"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/pull": {"get": {"operationId": "pull", "summary": "Log entries after `since` the token may see, with their records as they now stand.", "parameters": [
            {"name": "since", "in": "query", "required": false, "description": "The last seq already pulled.", "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807, "default": 0}},
            {"name": "limit", "in": "query", "required": false, "description": "The most items to return.", "schema": {"type": "integer", "minimum": 1, "maximum": \#(WireProtocol.maximumPullLimit), "default": \#(APIController.defaultPullLimit)}}],
            "responses": {"200": {"description": "A page of items.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PullResponse"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/conflicts": {"get": {"operationId": "conflicts", "summary": "Conflicts on records the token may see: open ones, or all.", "parameters": [
            {"name": "all", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}}],
            "responses": {"200": {"description": "The conflicts.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Conflict"}}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/conflicts/{id}/resolve": {"post": {"operationId": "resolve", "summary": "Settle an open conflict (coordinators and the record's owners).", "parameters": [
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resolution"}}}},
            "responses": {"200": {"description": "The conflict as it now stands.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Conflict"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}, "404": {"$ref": "#/components/responses/NotFound"}, "409": {"$ref": "#/components/responses/Conflict"}, "413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/UnsupportedMediaType"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/devices": {"post": {"operationId": "registerDevice", "summary": "Register a device's Ed25519 key for the token's organisation (members, coordinators); a history entry. Registering the same again answers the first registration.", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeviceRegistration"}}}},
            "responses": {"200": {"description": "The registration.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Device"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}, "409": {"description": "The device id is registered with another key or organisation (`device_exists`).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}, "413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/UnsupportedMediaType"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/history": {"get": {"operationId": "history", "summary": "The full history (auditors, coordinators): NDJSON, one entry a line, in seq order, streamed.", "parameters": [
            {"name": "since", "in": "query", "required": false, "description": "The last seq already held.", "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807, "default": 0}},
            {"name": "limit", "in": "query", "required": false, "description": "The most entries to return; all when absent.", "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}}],
            "responses": {"200": {"description": "Entries `{seq, time, author, change, outcome, prev_hash, hash}`, one RFC 8785 text a line.", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/digest": {"get": {"operationId": "digest", "summary": "Per-table digests of the live records the token may see (visibility as for a pull), for tandem check.", "responses": {"200": {"description": "One digest a schema table.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DigestResponse"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/v1/checkpoint": {"get": {"operationId": "checkpoint", "summary": "The history's head, signed by the server's key; with seq, the entry seq signed (the head when the history ends before it).", "description": "With hash, time and signature the caller presents the checkpoint of seq it holds (from a pull page, or an auditor's kept one); one signed by this server that the history no longer holds is kept as a rollback report and logged (tandem-server verify). Give all three, with seq.", "parameters": [
            {"name": "seq", "in": "query", "required": false, "description": "The entry to sign.", "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}},
            {"name": "hash", "in": "query", "required": false, "description": "The hash the caller holds for seq.", "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            {"name": "time", "in": "query", "required": false, "description": "The time of the checkpoint presented.", "schema": {"type": "string", "maxLength": 64}},
            {"name": "signature", "in": "query", "required": false, "description": "The server's signature of the checkpoint presented (base64).", "schema": {"type": "string", "maxLength": 128}}],
            "responses": {"200": {"description": "The signed head, or the signed entry seq.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Checkpoint"}}}}, "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/TooManyRequests"}, "503": {"$ref": "#/components/responses/Unavailable"}}}}
        """#

    /// The whole document as text.
    static let text = #"""
        {"openapi": "3.1.0",
         "info": {"title": "Tandem sync API", "version": "\#(WireProtocol.version)", "description": "The tandem-server HTTP API (SPEC §4). JSON everywhere; gzip accepted (Content-Encoding) and sent (Accept-Encoding). Every 4xx answer is {\"error\": CODE, \"message\": …}. A known path asked with another method is 405 with Allow. Connections idle longer than the server's idle timeout (default 30 s) are closed. Every answer, errors included, carries the server's clock in the header \#(WireProtocol.serverTimeHeader): whole milliseconds since the Unix epoch."},
         "security": [{"bearerAuth": []}],
         "paths": {
        \#(paths)
         },
         "components": {
          "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "A token from tandem-server init, org add or token issue."}},
          "responses": {
        \#(errorResponses)
          },
          "schemas": {
        \#(schemas)
          }
         }
        }
        """#
}
