public import TandemProtocol

/// Who pulls (`GET /v1/pull`): a principal already authenticated, or a bearer token that the
/// pull's own read checks (one read for the token, the page and the head).
public enum PullCaller: Sendable {
    case principal(Principal)
    case token(String)
}

/// A pull page as `GET /v1/pull` answers it: the caller it was read for, the page, and the entry
/// it reaches signed by the server's key (nil when it reaches none).
public struct SignedPullPage: Sendable {
    public var principal: Principal
    public var page: RenderedPullPage
    public var checkpoint: Checkpoint?

    /// The page's JSON text, with its checkpoint.
    public var json: String { page.json(checkpoint: checkpoint) }
}

extension TokenLookup {
    /// Whose sight the token's pull is read with: nil when it stands for no principal
    /// (``principal``); else its ``Principal/viewer`` (nil inside: every entry).
    var pullViewer: String?? { principal.map(\.viewer) }
}

extension StoreAdapter {
    /// A pull page after `since` for `caller`, with the checkpoint of the entry it reaches (the
    /// replica presents it at its next sync) — in one read when the page reaches the head: the
    /// token (for a ``PullCaller/token(_:)``), the page and the head's hash are read together, and
    /// the head's signature is shared by the pulls of one second (``SignedCheckpoints``). A page
    /// that stops before the head (a bootstrap's) reads its last entry's hash after it.
    ///
    /// - Returns: nil when `caller` is a token that stands for no principal (unknown, revoked, or
    ///   its organisation removed).
    public func signedPullPage(_ caller: PullCaller, since: Int64, limit: Int, now: Int64) async throws
        -> SignedPullPage?
    {
        let principal: Principal
        let found: PullCandidates
        switch caller {
        case let .principal(known):
            principal = known
            found = try await pullCandidates(since: since, limit: limit, viewer: known.viewer)
        case let .token(token):
            let read = try await pullCandidates(token: Tokens.hash(token), since: since, limit: limit)
            guard let known = read.token?.principal, let candidates = read.candidates else { return nil }
            (principal, found) = (known, candidates)
        }
        let page = try await withPersonalValues(
            PullPager.page(of: found, since: since, limit: limit), of: found, for: principal)
        guard page.next > 0 else { return SignedPullPage(principal: principal, page: page, checkpoint: nil) }
        let checkpoint: Checkpoint
        if let hash = found.headHash, found.head > 0, page.next >= found.head {
            checkpoint = signedCheckpoints.checkpoint(seq: found.head, hash: hash, now: now, signedBy: serverKey)
        } else {
            checkpoint = try await self.checkpoint(at: page.next, presenting: nil, by: principal, now: now).checkpoint
        }
        return SignedPullPage(principal: principal, page: page, checkpoint: checkpoint)
    }
}
