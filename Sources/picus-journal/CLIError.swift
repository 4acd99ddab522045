import ArgumentParser
import Foundation
import PicusJournal

/// A runtime failure the CLI reports in one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body; any failure becomes one line on stderr and exit 1. Never a stack trace.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
        if let problem = OutputHealth.shared.problem { throw CLIError("cannot write the output: \(problem)") }
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError(describe(error))
        throw ExitCode.failure
    }
}
