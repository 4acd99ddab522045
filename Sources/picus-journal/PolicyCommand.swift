import ArgumentParser
import Foundation
import PicusJournal

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Print the effective retry policy as JSON, in the form --policy reads.",
        discussion: """
            Durations are seconds. A policy file may hold any subset of these keys; the rest keep their \
            defaults. An entry's replayability is decided when it is written: a replayer whose policy \
            never replays an endpoint ends such entries unsent, and a looser one does not revive an \
            entry written as never replayed.

            Examples:
              picus-journal policy > policy.json
              picus-journal --policy policy.json replay --watch
            """)

    @OptionGroup var options: PolicyOptions

    func run() async throws {
        try await reportingErrors {
            say(String(decoding: try options.resolved().json, as: UTF8.self))
        }
    }
}
