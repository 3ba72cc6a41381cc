public import Foundation

/// A PostgreSQL database named by a URL (`--database postgres://USER@HOST:PORT/DB[?sslmode=…]`),
/// as `tandem-server` accepts it: the password never in the URL (it would sit in argv, in shell
/// histories and in `DIR`), but in `PGPASSWORD` or in a password file the URL names
/// (`passfile=PATH`, libpq's `~/.pgpass` format).
///
/// ```swift
/// let url = try PostgresURL("postgres://tandem@db.example:5432/tandem?sslmode=verify-full")
/// ```
public struct PostgresURL: Hashable, Sendable, CustomStringConvertible {
    /// How the connection is protected (libpq's names and meanings).
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, unverified; else plain (libpq's default).
        case prefer
        /// TLS, or no connection; the certificate is not verified.
        case require
        /// TLS with the server's certificate verified and its name checked (`sslrootcert=PATH` for a private CA).
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of the authorities to trust for `verify-full` (`sslrootcert=`).
    public var rootCertificate: String?
    /// The password file (`passfile=`), read when `PGPASSWORD` is unset.
    public var passfile: String?

    /// - Throws: ``ServerError`` `bad_database_url` (one line naming what is wrong).
    public init(_ text: String) throws {
        func refuse(_ why: String) -> ServerError {
            ServerError(.badDatabaseURL, "--database: \(why)")
        }
        guard let components = URLComponents(string: text),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw refuse("expected postgres://USER@HOST:PORT/DB[?sslmode=…]") }
        guard components.password == nil else {
            throw refuse("a password does not belong in the URL (argv, logs): set PGPASSWORD or ?passfile=PATH")
        }
        guard let user = components.user, !user.isEmpty else { throw refuse("name the user: postgres://USER@HOST/DB") }
        guard let host = components.host, !host.isEmpty else { throw refuse("name the host: postgres://USER@HOST/DB") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw refuse("name the database: postgres://USER@HOST:PORT/DB")
        }
        self.user = user
        self.host = host
        port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw refuse("port \(port) is out of range") }
        self.database = database
        sslMode = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw refuse(
                        "sslmode: expected \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert": rootCertificate = item.value
            case "passfile": passfile = item.value
            case "password": throw refuse("a password does not belong in the URL: set PGPASSWORD or ?passfile=PATH")
            default: throw refuse("unknown setting \(item.name) (sslmode, sslrootcert, passfile)")
            }
        }
    }

    /// The URL as given, password-free: what `DIR/database.url` keeps and logs may show.
    public var description: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host
        components.port = port
        components.path = "/" + database
        var items: [URLQueryItem] = []
        if sslMode != .prefer { items.append(URLQueryItem(name: "sslmode", value: sslMode.rawValue)) }
        if let rootCertificate { items.append(URLQueryItem(name: "sslrootcert", value: rootCertificate)) }
        if let passfile { items.append(URLQueryItem(name: "passfile", value: passfile)) }
        components.queryItems = items.isEmpty ? nil : items
        return components.string ?? "postgres://\(user)@\(host):\(port)/\(database)"
    }

    /// The password: `PGPASSWORD`, else the first matching line of the password file
    /// (`host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped), else none.
    ///
    /// - Throws: ``ServerError`` `bad_database_url` when the password file cannot be read.
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let password = environment["PGPASSWORD"] { return password }
        guard let passfile else { return nil }
        guard let text = try? String(contentsOfFile: passfile, encoding: .utf8) else {
            throw ServerError(.badDatabaseURL, "--database: cannot read the passfile \(passfile)")
        }
        let wanted = [host, String(port), database, user]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = Self.passfileFields(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// The fields of a `.pgpass` line: split at unescaped colons, escapes removed.
    static func passfileFields(_ line: Substring) -> [String] {
        var fields = [""]
        var escaped = false
        for character in line {
            if escaped {
                fields[fields.count - 1].append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append("")
            } else {
                fields[fields.count - 1].append(character)
            }
        }
        return fields
    }
}
