import Foundation
import HTTPTypes

/// Gathers one response as a transport reads it — head, then body chunks within the limits — and
/// runs the read under the attempt's single deadline.
///
/// Both transports feed one collector, so the contract (bounded memory, one deadline, the status
/// decides once it has arrived) is written once.
package final class ResponseCollector: @unchecked Sendable {
    // Every field is read and written under `lock`: the transport's reading task and the deadline
    // race to finish the attempt.
    private let lock = NSLock()
    private let options: TransportOptions
    private var head: HTTPResponse?
    private var body = Data()
    private var seen = 0
    private var limit = 0
    private var issue: TransportResponse.BodyIssue?
    private var deadlinePassed = false
    private var readHasEnded = false

    package init(options: TransportOptions) {
        self.options = options
    }

    /// Records the head: from now on the status decides the attempt.
    package func receive(head: HTTPResponse) {
        lock.withLock {
            self.head = head
            limit = (200..<300).contains(head.status.code) ? options.maximumBodySize : options.maximumErrorBodySize
            body.reserveCapacity(min(limit, 64 * 1024))
        }
    }

    /// Takes a chunk of body; false when the transport must stop reading (a limit was reached).
    package func receive<Bytes: Collection>(_ chunk: Bytes) -> Bool where Bytes.Element == UInt8 {
        lock.withLock {
            guard let head, issue == nil else { return false }
            seen += chunk.count
            let room = limit - body.count
            if chunk.count <= room {
                body.append(contentsOf: chunk)
                return true
            }
            if (200..<300).contains(head.status.code) {
                issue = .tooLarge(limit: limit)
            } else {
                body.append(contentsOf: chunk.prefix(room))
                issue = .capped
            }
            return false
        }
    }

    /// Whether a head has arrived.
    package var hasHead: Bool { lock.withLock { head != nil } }

    /// The response so far; `interruption` marks a body that did not end by itself.
    private func response(interruption: TransportError?) -> TransportResponse? {
        lock.withLock {
            guard let head else { return nil }
            var bodyIssue = issue
            if bodyIssue == nil, let interruption { bodyIssue = .interrupted(interruption) }
            var size = seen
            if bodyIssue != nil, let declared = head.headerFields[.contentLength].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }),
                declared > size
            {
                size = declared
            }
            return TransportResponse(head: head, body: body, bodySize: size, bodyIssue: bodyIssue)
        }
    }

    /// Runs `read` — which connects, sends, and feeds this collector — under one deadline.
    ///
    /// - Returns: The response once `read` returns, or whatever arrived when it failed or the deadline
    ///   passed after the head.
    /// - Throws: ``TransportError`` when no head arrived: `classify(error)` of what `read` threw,
    ///   `timeout` at the deadline, `cancelled` when the caller was cancelled.
    package func run(
        classify: @escaping @Sendable (any Error) -> TransportError,
        _ read: @escaping @Sendable () async throws -> Void
    ) async throws -> TransportResponse {
        let timeout = options.timeout
        // One unstructured task and a Dispatch timer that cancels it: cheaper than a task group with a
        // sleeping child on every attempt.
        let reading = Task<Result<Void, any Error>, Never> { [self] in
            let outcome: Result<Void, any Error>
            do {
                try await read()
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            // Ended before the deadline: what it ended with stands, however late its caller resumes
            // (a busy process may run the caller after the timer).
            lock.withLock { readHasEnded = true }
            return outcome
        }
        let timer = DispatchWorkItem { [self] in
            let passes = lock.withLock {
                if !readHasEnded { deadlinePassed = true }
                return deadlinePassed
            }
            if passes { reading.cancel() }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval, execute: timer)
        let outcome = await withTaskCancellationHandler {
            await reading.value
        } onCancel: {
            reading.cancel()
        }
        timer.cancel()
        // nil: the deadline cut the read (a read that ended whole just as it passed stands).
        let first: Result<Void, any Error>?
        if case .failure = outcome, lock.withLock({ deadlinePassed }) { first = nil } else { first = outcome }
        let seconds = String(format: "%g", timeout.timeInterval)
        switch first {
        case .success:
            if let response = response(interruption: nil) { return response }
            throw TransportError(.other, "the connection ended without a response", phase: .afterSending)
        case .failure(let error):
            let failure = Task.isCancelled ? TransportError(.cancelled, "the request was cancelled") : classify(error)
            if let response = response(interruption: failure) { return response }
            throw failure
        case nil:
            let failure = Task.isCancelled
                ? TransportError(.cancelled, "the request was cancelled")
                : TransportError(.timeout, hasHead ? "the body did not arrive within the \(seconds) s deadline"
                                                   : "no response within the \(seconds) s deadline", phase: .afterSending)
            if let response = response(interruption: failure) { return response }
            throw failure
        }
    }
}
