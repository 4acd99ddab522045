import ArgumentParser
import Foundation
import PicusJournal

/// `--policy`, for the commands that decide what is replayed: request, replay, requeue and policy.
struct PolicyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A JSON file of retry policy settings; what it leaves out keeps the default. Default: $PICUS_JOURNAL_POLICY, else the built-in policy (picus-journal policy prints it).",
        valueName: "path"))
    var policy: String?

    /// The file the policy comes from, and which option or variable named it; nil for the built-in policy.
    var source: (path: String, name: String)? {
        if let policy { return (policy, "--policy") }
        if let path = ProcessInfo.processInfo.environment["PICUS_JOURNAL_POLICY"], !path.isEmpty { return (path, "$PICUS_JOURNAL_POLICY") }
        return nil
    }

    /// The effective policy: the file's, else the built-in one.
    func resolved() throws -> RetryPolicy {
        guard let source else { return RetryPolicy() }
        do {
            return try RetryPolicy(contentsOfFile: source.path)
        } catch let error as RetryPolicy.FileError {
            throw CLIError("\(error) (from \(source.name))")
        }
    }
}
