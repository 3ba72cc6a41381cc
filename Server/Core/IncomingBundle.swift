public import TandemProtocol

extension StoreAdapter {
    /// Items read per pull page while a bundle is made.
    static var bundlePage: Int { 2_000 }

    /// An incoming bundle (`GET /v1/bundle?for=ORG&since=SEQ`, docs/sync.md, Bundles): everything
    /// after `since` that a member token of `organisation` would pull — the items exactly as
    /// ``pullPage(since:limit:for:)`` renders them for it, arrivals and departures included —
    /// with the conflicts it may see, the schema, and the signed checkpoint of the seq it reaches,
    /// sealed with the server's key (``BundleFrame``, kind `pull`). Its text, before gzip.
    ///
    /// - Throws: ``ServerError`` `forbidden` (not a coordinator), `notFound` (no such organisation).
    public func incomingBundle(for organisation: String, since: Int64, by principal: Principal, now: Int64)
        async throws -> [UInt8]
    {
        guard principal.role == .coordinator else {
            throw ServerError.forbidden("\(principal.role.rawValue) tokens may not write bundles for organisations")
        }
        let schema = try await currentSchema()
        var request = FactRequest()
        request.records = [organisation]
        let organisationTable = schema.tables.first(where: { $0.owners == ["id"] })?.name
        guard case let .some(.some(record)) = try await facts(for: request).records[organisation],
            record.table == organisationTable, !record.isDeleted
        else { throw ServerError(.notFound, "no organisation \(organisation)") }
        let viewer = Principal(tokenID: "bundle", organisation: organisation, role: .member)
        var items: [[UInt8]] = []
        var values = Openings()
        var cursor = since
        var schemaVersion = schema.version
        while true {
            let page = try await pullPage(since: cursor, limit: Self.bundlePage, for: viewer)
            items += page.items.map { Array($0.utf8) }
            values.formUnion(page.values)
            schemaVersion = page.schemaVersion ?? schemaVersion
            guard page.more, page.next > cursor else {
                cursor = max(cursor, page.next)
                break
            }
            cursor = page.next
        }
        let checkpoint =
            cursor > 0 ? try await self.checkpoint(at: cursor, presenting: nil, by: viewer, now: now).checkpoint : nil
        let conflicts = try await self.conflicts(for: viewer, includeResolved: false)
        var header = [
            JSONMember("for", .string(organisation)), JSONMember("since", .int(since)),
            JSONMember("next", .int(cursor)),
            JSONMember("created", .string(Timestamp.string(milliseconds: now))),
            JSONMember("schema_version", .int(Int64(schemaVersion))),
            JSONMember("checkpoint", checkpoint?.json ?? .null),
            JSONMember("conflicts", .array(conflicts.map(\.json))),
            JSONMember("schema", try await currentSchema().json),
        ]
        // The openings of the personal values the items' entries commit to (SPEC §8): a file of
        // version 2 (``BundleFrame``); without any, version 1, as before.
        if !values.isEmpty { header.append(JSONMember(BundleFrame.valuesMember, values.json)) }
        return BundleFrame.seal(kind: .pull, header: header, body: items, key: serverKey)
    }
}
