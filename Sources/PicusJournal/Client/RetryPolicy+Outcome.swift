/// What a policy's decision means for the attempt's record and the entry's state.
extension RetryPolicy.Decision {
    var outcome: Attempt.Outcome {
        switch self {
        case .succeed: .success
        case .fail, .expire: .permanent
        case .retry: .retryable
        }
    }

    var transition: EntryTransition {
        switch self {
        case .succeed: EntryTransition(state: .succeeded)
        case .fail: EntryTransition(state: .failed)
        case .expire: EntryTransition(state: .expired)
        case .retry(let at): EntryTransition(state: .queued, nextAttemptAt: at)
        }
    }
}
