import TandemCompression
import TandemProtocol

extension SyncAPI {
    /// `GET /v1/bundle?for=ORG&since=SEQ` (coordinators): an incoming bundle for `organisation`,
    /// checked (signed whole, of kind `pull`) and gzipped: the file `tandem bundle export --for`
    /// writes (docs/sync.md, Bundles).
    ///
    /// - Throws: the server's errors (`notPermitted` for a member's token, `notFound` for an
    ///   organisation it does not hold); `internal` when the answer is not a bundle.
    public func incomingBundle(for organisation: String, since: Int64) throws(ReplicaError) -> (
        file: [UInt8], bundle: IncomingBundle
    ) {
        let request = TransportRequest(.bundle, query: [.init("for", organisation), .init("since", String(since))])
        let text = try send(request).body
        let bundle: IncomingBundle
        do {
            bundle = try IncomingBundle(frame: BundleFrame.open(text))
        } catch let error as ProtocolError {
            throw ReplicaError(.internal, "unexpected answer from the server to \(request.line): \(error.message)")
        } catch let error as ReplicaError {
            throw ReplicaError(.internal, "unexpected answer from the server to \(request.line): \(error.message)")
        } catch {
            throw ReplicaError(.internal, "unexpected answer from the server to \(request.line)")
        }
        do {
            return (try Gzip.compress(text), bundle)
        } catch {
            throw ReplicaError(.internal, "could not compress the bundle")
        }
    }
}
