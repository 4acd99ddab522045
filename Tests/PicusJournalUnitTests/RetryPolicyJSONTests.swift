import Foundation
import PicusJournal
import Testing

/// The retry policy's JSON form: what `--policy FILE` reads and `picus-journal policy` prints.
struct RetryPolicyJSONTests {
    @Test func aPolicyReadsBackFromItsOwnJSON() throws {
        var policy = RetryPolicy()
        policy.retryableStatuses = [408, 429, 500, 503, 504]
        policy.baseDelay = .milliseconds(250)
        policy.maximumAttempts = 4
        policy.overrides = [
            .init(method: "POST", path: "/v1/simulations", isReplayable: false),
            .init(path: "/v1/templates/*", retriesTransportFailures: false, maximumAge: .seconds(3600)),
        ]
        #expect(try RetryPolicy(json: policy.json) == policy)
        #expect(try RetryPolicy(json: RetryPolicy().json) == RetryPolicy())
        #expect(try RetryPolicy(json: Data("{}".utf8)) == RetryPolicy())
    }

    @Test func aFileNamesOnlyWhatItChanges() throws {
        let policy = try RetryPolicy(json: Data(#"{"retryableStatuses": [500], "maximumAge": 60.5}"#.utf8))
        #expect(policy.retryableStatuses == [500])
        #expect(policy.maximumAge == .milliseconds(60_500))
        #expect(policy.maximumAttempts == RetryPolicy().maximumAttempts)
        #expect(policy.neverReplayed == RetryPolicy.tokenExchange)
    }

    @Test(arguments: [
        (#"[1]"#, "is not a JSON object"),
        (#"{"maximumAttempts": 5"#, "is not JSON"),
        (#"{"retryableStatus": [500]}"#, #"unknown key "retryableStatus""#),
        (#"{"retryableStatuses": [700]}"#, #""retryableStatuses" with an item that is not a status code"#),
        (#"{"retryableStatuses": "500"}"#, #""retryableStatuses" that is not an array"#),
        (#"{"baseDelay": -1}"#, #""baseDelay" -1"#),
        (#"{"maximumAttempts": 2.5}"#, #""maximumAttempts" 2.5"#),
        (#"{"maximumAttempts": 0}"#, #""maximumAttempts" 0"#),
        (#"{"retriesTransportFailures": "yes"}"#, #""retriesTransportFailures" that is not true or false"#),
        (#"{"overrides": [{"method": "POST"}]}"#, #"overrides[0] without a "path""#),
        (#"{"overrides": [{"path": "/v1/agents", "replayble": false}]}"#, #"unknown key "overrides[0].replayble""#),
        (#"{"neverReplayed": [{"path": "/v1/agents"}]}"#, #"neverReplayed[0] without both "method" and "path""#),
    ])
    func aMalformedPolicyIsRefusedNamingWhatIsWrong(json: String, expected: String) {
        #expect {
            try RetryPolicy(json: Data(json.utf8))
        } throws: { error in
            let text = String(describing: error)
            return text.contains(expected) && !text.contains("\n")
        }
    }
}
