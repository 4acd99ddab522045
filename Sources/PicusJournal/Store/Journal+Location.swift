import Foundation

extension Journal {
    /// Where the CLI keeps its journal when not told: `$PICUS_JOURNAL_DB`, else
    /// `$XDG_STATE_HOME/picus-journal/journal.sqlite`, else `~/.local/state/picus-journal/journal.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["PICUS_JOURNAL_DB"], !path.isEmpty { return path }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty {
            return "\(state)/picus-journal/journal.sqlite"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.local/state/picus-journal/journal.sqlite"
    }
}
