import HummingbirdCore
import HummingbirdTLS

extension ServerConfiguration {
    /// How connections are served: HTTP/1.1, wrapped in TLS when ``tls`` is set, counted in `metrics`.
    ///
    /// The PEM files are read when the server starts (``TLS/load()`` checks them earlier, so that
    /// `tandem-server serve` can refuse bad files with a clear message before it listens).
    func httpServer(metrics: ServerMetrics) -> HTTPServerBuilder {
        let http1 = http1Configuration(metrics: metrics)
        // Each connection served on its own event loop (EventLoopPinnedChannel).
        guard let tls else {
            return HTTPServerBuilder { responder in
                EventLoopPinnedChannel(base: HTTP1Channel(responder: responder, configuration: http1))
            }
        }
        return HTTPServerBuilder { responder in
            EventLoopPinnedChannel(
                base: try TLSChannel(
                    HTTP1Channel(responder: responder, configuration: http1), tlsConfiguration: tls.load()))
        }
    }

    /// `https` with TLS, else `http`: what a client's URL starts with.
    public var scheme: String { tls == nil ? "http" : "https" }
}

extension ServerConfiguration.TLS {
    /// A failure to read the certificate chain or the key: which file, and why.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The TLS settings for these files: TLS 1.2 or later, the certificate chain and its key.
    ///
    /// - Throws: ``LoadError`` naming the file that cannot be read or holds no PEM certificate
    ///   or key (a key that does not match the certificate fails at the first handshake).
    func load() throws -> TLSConfiguration {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificateChain)
        } catch {
            throw LoadError(description: "cannot read the certificate chain \(certificateChain): \(error)")
        }
        guard !certificates.isEmpty else {
            throw LoadError(description: "\(certificateChain) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw LoadError(description: "cannot read the private key \(privateKey): \(error)")
        }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// Reads both files now, so that a bad one is reported before the server listens.
    ///
    /// - Throws: ``LoadError`` naming the file and what is wrong with it.
    public func check() throws {
        _ = try load()
    }
}
