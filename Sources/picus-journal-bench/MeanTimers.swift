import CoreMetrics
import Foundation

/// The bench's view of where a drain's time goes: each timer keeps a sum and a count, nothing more,
/// and counters and gauges go nowhere — cheap enough not to move what it measures. (MetricsTestKit
/// keeps every value and makes a handler per report: about 1.5% of a drain's CPU, measured with perf.)
final class MeanTimers: MetricsFactory, @unchecked Sendable {
    // `lock` guards `sums`.
    private let lock = NSLock()
    private var sums: [String: (nanoseconds: Int64, count: Int)] = [:]

    /// The mean of a timer's values in milliseconds; NaN when it has none.
    func meanMilliseconds(_ label: String, _ dimensions: [(String, String)]) -> Double {
        let sum = lock.withLock { sums[Self.key(label, dimensions)] }
        guard let sum, sum.count > 0 else { return .nan }
        return Double(sum.nanoseconds) / Double(sum.count) / 1e6
    }

    fileprivate func add(_ nanoseconds: Int64, to key: String) {
        lock.withLock {
            let sum = sums[key, default: (0, 0)]
            sums[key] = (sum.nanoseconds + nanoseconds, sum.count + 1)
        }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(label) { "\($0)|\($1.0)=\($1.1)" }
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        MeanTimer(key: Self.key(label, dimensions), timers: self)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

private final class MeanTimer: TimerHandler {
    let key: String
    let timers: MeanTimers

    init(key: String, timers: MeanTimers) {
        self.key = key
        self.timers = timers
    }

    func recordNanoseconds(_ duration: Int64) {
        timers.add(duration, to: key)
    }
}
