import Foundation
import PicusJournal
import PicusJournalTesting

/// A journal filled with known entries, for the read side.
package struct SeededJournal {
    package let folder: TemporaryFolder
    package let journal: Journal
    package let now = Date()
    package var ids: [String: Int64] = [:]

    package struct Seed {
        package var name: String
        package var method = "GET"
        package var path = "/v1/agents"
        package var query: String?
        package var ageHours: Double = 1
        package var status: Int?
        package var transport: TransportError.Kind?
        package var message: String?
        package var errorCode: String?
        package var state: EntryState
        package var body: String?
        package var errors: String?

        package init(
            name: String, method: String = "GET", path: String = "/v1/agents", query: String? = nil, ageHours: Double = 1,
            status: Int? = nil, transport: TransportError.Kind? = nil, message: String? = nil, errorCode: String? = nil,
            state: EntryState, body: String? = nil, errors: String? = nil
        ) {
            self.name = name
            self.method = method
            self.path = path
            self.query = query
            self.ageHours = ageHours
            self.status = status
            self.transport = transport
            self.message = message
            self.errorCode = errorCode
            self.state = state
            self.body = body
            self.errors = errors
        }
    }

    package init(_ seeds: [Seed]) async throws {
        folder = try TemporaryFolder()
        journal = try Journal(path: folder.path("journal.sqlite"))
        for seed in seeds {
            let created = now.addingTimeInterval(-seed.ageHours * 3600)
            let entry = try await journal.insert(NewEntry(
                method: seed.method, path: seed.path, query: seed.query, headers: ["authorization": "Bearer <redacted>"],
                body: seed.body.map { Data($0.utf8) }, state: seed.status == nil && seed.transport == nil ? seed.state : .inFlight,
                leaseOwner: "seed", createdAt: created))
            ids[seed.name] = entry.id
            guard seed.status != nil || seed.transport != nil else { continue }
            let error = seed.message.map { message in
                ErrorBody.decode(Data(#"{"message":"\#(message)"\#(seed.errorCode.map { #","error_code":\#($0)"# } ?? "")\#(seed.errors.map { #","errors":\#($0)"# } ?? "")}"#.utf8))
            }
            let outcome: Attempt.Outcome = seed.state == .succeeded ? .success : seed.state == .queued ? .retryable : .permanent
            _ = try await journal.record(
                NewAttempt(number: 1, startedAt: created, durationMs: 12.5, status: seed.status,
                           transportError: seed.transport.map { TransportError($0, "no route") }, outcome: outcome,
                           responseHeaders: ["content-type": "application/json", "set-cookie": "session=abc"], error: error),
                forEntry: entry.id, leaseOwner: "seed",
                then: EntryTransition(state: seed.state, nextAttemptAt: seed.state == .queued ? created.addingTimeInterval(60) : nil))
        }
    }

    package static let standard: [Seed] = [
        Seed(name: "ok", ageHours: 1, status: 200, state: .succeeded),
        Seed(name: "invalid", path: "/v1/simulations", query: "limit=1000", ageHours: 2, status: 422, message: "validation error", state: .failed,
             errors: #"{"limit":"tag=max, param=50, given value=1000"}"#),
        Seed(name: "duplicate", method: "POST", path: "/v1/simulations", ageHours: 3, status: 400, message: "simulation_already_exist",
             errorCode: "1001", state: .failed, body: #"{"simulation_name":"x","password":"hunter2"}"#),
        Seed(name: "missing", path: "/v1/simulations/999", ageHours: 30, status: 404, message: "not found error", state: .failed),
        Seed(name: "outage", method: "POST", path: "/v1/simulations", ageHours: 50, status: 503, message: "service unavailable", state: .queued),
        Seed(name: "gateway", path: "/v1/templates", query: "token=s3cr3t&limit=5", ageHours: 200, status: 504, message: "504 Gateway Time-out", state: .queued),
        Seed(name: "offline", path: "/v1/agents/2", ageHours: 5, transport: .refused, state: .queued),
        Seed(name: "pending", method: "PUT", path: "/v1/simulations/3/cancel", ageHours: 0.5, state: .pending),
    ]

    package static func make() async throws -> SeededJournal { try await SeededJournal(standard) }

    package func names(_ query: JournalQuery) async throws -> [String] {
        let byID = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
        return try await journal.entries(matching: query).map { byID[$0.id] ?? "?" }
    }
}
