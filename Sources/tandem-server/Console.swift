import ArgumentParser
import Foundation
import TandemServer

/// stdout for data, stderr for one-line errors (`tandem-server: …`), and the sysexits codes.
enum Console {
    /// Writes `text` and a newline to stdout.
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes `tandem-server: message` to stderr.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("tandem-server: \(message)\n".utf8))
    }

    /// Reports `message` and ends the command with `status`.
    static func fail(_ message: String, status: Int32) -> ExitCode {
        error(message)
        return ExitCode(status)
    }

    /// Runs `body`, turning any failure into one stderr line and its sysexits code.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch let error as ServerError {
            throw fail(error.message, status: status(of: error))
        } catch {
            throw fail("internal error: \(error)", status: 70)
        }
    }

    /// sysexits for the store's errors: 66 no store, 73 cannot create, 65 refused data (a store
    /// of a newer Tandem too), 69 a database that cannot be reached, 64 a bad `--database`, 70 the rest.
    static func status(of error: ServerError) -> Int32 {
        switch error.failure {
        case .noStore?, .cannotOpen?: return 66
        case .exists?, .cannotCreate?: return 73
        case .notAStore?, .newerStore?: return 65
        case .unreachable?: return 69
        case .badDatabaseURL?: return 64
        case .some: return 70
        case nil:
            switch error.code.httpStatus {
            case 401, 403: return 77
            case 400..<500: return 65
            default: return 70
            }
        }
    }
}
