import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM from the moment it is made, so that a process can say it is ready
/// only once a signal can no longer kill it mid-work.
final class TerminationSignals: @unchecked Sendable {
    // Safe: both properties are set once in init and never mutated; the sources are only cancelled in deinit.
    private let signals: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init() {
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                continuation.yield(number)
                // A second signal stops the process at once, should the shutdown hang.
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
            }
            source.resume()
            sources.append(source)
        }
        self.signals = signals
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// The first signal received, or nil when the waiting task is cancelled.
    func next() async -> Int32? {
        var iterator = signals.makeAsyncIterator()
        return await iterator.next()
    }
}
