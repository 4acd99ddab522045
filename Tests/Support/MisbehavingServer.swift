import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A socket-level HTTP server on 127.0.0.1 that answers exactly as a test scripts it: bytes, pauses,
/// drips, an abrupt close, or nothing at all. It reads each request whole (head and
/// `Content-Length` body), records it, then plays the script chosen for it.
///
/// Plain POSIX sockets on threads: nothing between the test and the bytes on the wire.
package final class MisbehavingServer: @unchecked Sendable {
    /// One step of an answer.
    package enum Step: Sendable {
        /// Write these bytes.
        case send(Data)
        /// Write this text.
        case text(String)
        /// Wait before the next step.
        case pause(Duration)
        /// Write one byte of `byte` every `interval`, for ever (until the client goes away).
        case drip(byte: UInt8, every: Duration)
        /// Write `count` bytes of zeros in large chunks, as fast as the client reads.
        case zeros(count: Int)
        /// Wait until the test opens the gate.
        case waitForGate
        /// Close the connection.
        case close
    }

    /// A request as the server read it.
    package struct Request: Sendable {
        package var method: String
        package var target: String
        package var headers: [String: String]
        package var body: Data
    }

    // `requests`, `gateOpen` and `stopped` are guarded by `lock`; the rest is set in init.
    private let lock = NSCondition()
    private var requests: [Request] = []
    private var gateOpen = false
    private var stopped = false
    private let listener: Int32
    private let script: @Sendable (Request) -> [Step]
    /// The port it listens on.
    package let port: Int
    /// Its base URL.
    package var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Starts a server that answers each request with `script(request)`.
    package init(_ script: @escaping @Sendable (Request) -> [Step]) throws {
        self.script = script
        let (listener, port) = try bindLoopback()
        self.listener = listener
        guard listen(listener, 128) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.port = port
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting; connections under way end when their client goes.
    ///
    /// Only wakes the accept loop: the loop closes the socket itself, so that no descriptor number is
    /// closed twice or used after another test got it.
    package func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        if first { shutdown(listener, Int32(SHUT_RDWR)) }
        openGate()
    }

    /// Lets every `.waitForGate` step go on.
    package func openGate() {
        lock.lock()
        gateOpen = true
        lock.broadcast()
        lock.unlock()
    }

    /// The requests read so far.
    package var received: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    /// Waits until at least `count` requests have been read (an event, not a time).
    package func waitForRequests(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.lock.lock()
                while self.requests.count < count { self.lock.wait() }
                self.lock.unlock()
                continuation.resume()
            }.start()
        }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = Data()
        while let request = readRequest(connection, buffer: &buffer) {
            lock.lock()
            requests.append(request)
            lock.broadcast()
            lock.unlock()
            for step in script(request) {
                guard play(step, on: connection) else { return }
            }
        }
    }

    /// Plays one step; false when the connection is done.
    private func play(_ step: Step, on connection: Int32) -> Bool {
        switch step {
        case .send(let data): return write(data, to: connection)
        case .text(let text): return write(Data(text.utf8), to: connection)
        case .pause(let duration):
            Thread.sleep(forTimeInterval: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
            return true
        case .drip(let byte, let interval):
            while write(Data([byte]), to: connection) {
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
            }
            return false
        case .zeros(let count):
            let chunk = Data(count: 64 * 1024)
            var left = count
            while left > 0 {
                let part = min(left, chunk.count)
                guard write(chunk.prefix(part), to: connection) else { return false }
                left -= part
            }
            return true
        case .waitForGate:
            lock.lock()
            while !gateOpen { lock.wait() }
            lock.unlock()
            return true
        case .close:
            return false
        }
    }

    private func write(_ data: Data, to connection: Int32) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(connection, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { return false }
                offset += sent
            }
            return true
        }
    }

    private func readRequest(_ connection: Int32, buffer: inout Data) -> Request? {
        let separator = Data("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while buffer.range(of: separator) == nil {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
        let end = buffer.range(of: separator)!
        let head = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex..<end.upperBound)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        while buffer.count < length {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
        let body = Data(buffer.prefix(length))
        buffer.removeSubrange(buffer.startIndex..<(buffer.startIndex + length))
        return Request(method: requestLine.first.map(String.init) ?? "", target: requestLine.dropFirst().first.map(String.init) ?? "",
                       headers: headers, body: body)
    }
}

extension MisbehavingServer {
    /// A whole response with a body and its `Content-Length`.
    package static func response(_ status: String, headers: [String: String] = [:], body: String = "") -> Step {
        var text = "HTTP/1.1 \(status)\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        return .text(text + "\r\n" + body)
    }
}

/// A port on 127.0.0.1 where nothing listens, and nothing can while this value lives.
///
/// The port is bound and never listened on: a connection to it is refused at once, and no other
/// socket can take the port until the value goes. A server that was only asked to stop could still
/// accept a connection that then times out.
package final class ClosedPort: Sendable {
    private let socket: Int32
    /// The port.
    package let port: Int

    package init() throws {
        // Below the ephemeral range when this process may bind there (root, as CI runs): no client's
        // own local port can ever be this one, so a connection cannot meet itself (TCP's
        // simultaneous open) and get an answer from nobody. Without SO_REUSEADDR: no other socket
        // can bind the port while this one holds it.
        for low in 600..<1000 {
            if let bound = try? bindLoopback(port: low, reusingAddress: false) {
                (socket, port) = bound
                return
            }
        }
        (socket, port) = try bindLoopback(reusingAddress: false)
    }

    deinit { close(socket) }
}

/// A TCP socket bound to a free port of 127.0.0.1, not listening yet.
package func bindLoopback(port: Int = 0, reusingAddress: Bool = true) throws -> (socket: Int32, port: Int) {
    let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw POSIXError(.EMFILE) }
    var yes: Int32 = 1
    if reusingAddress { setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size)) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
        close(socket)
        throw POSIXError(.EADDRINUSE)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    return (socket, Int(UInt16(bigEndian: address.sin_port)))
}
