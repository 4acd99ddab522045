import Foundation

/// What the sandbox answers, before it goes on the wire.
struct SandboxReply: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    var body: Data = Data()
    var delay: Duration?

    static func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> SandboxReply {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers = headers
        headers["Content-Type"] = "application/json"
        return SandboxReply(status: status, headers: headers, body: body)
    }

    static func message(_ status: Int, _ message: String) -> SandboxReply {
        json(status, ["message": message])
    }

    static func validation(_ errors: [String: String]) -> SandboxReply {
        json(422, ["message": "validation error", "errors": errors])
    }

    static func parsing(_ value: String) -> SandboxReply {
        validation(["parsing error": "strconv.ParseUint: parsing \"\(value)\": invalid syntax"])
    }

    static let notFound = message(404, "not found error")
    static let noContent = SandboxReply(status: 204)
}

/// The sandbox's state and its Picus-shaped answers. Independent of the HTTP server that carries them.
actor SandboxState {
    private let configuration: PicusSandbox.Configuration
    private var refreshToken: String
    private var accessTokens: [String: Date] = [:]
    private var simulations: [[String: Any]] = SandboxData.initialSimulations()
    private var simulationNames: Set<String> = Set(SandboxData.initialSimulations().compactMap { $0["name"] as? String })
    private var nextSimulationID = 25
    private var faults: [SandboxFault] = []
    private var received: [ReceivedRequest] = []
    private var rateLimits: [String: Int]
    private var limitsEveryEndpoint: Bool
    private var windows: [String: (minute: Int64, count: Int)] = [:]
    private var latency: Duration?
    private var idempotentReplies: [String: SandboxReply] = [:]
    private var waiters: [(condition: @Sendable ([ReceivedRequest]) -> Bool, continuation: CheckedContinuation<[ReceivedRequest], Never>)] = []

    init(configuration: PicusSandbox.Configuration) {
        self.configuration = configuration
        self.refreshToken = configuration.refreshToken
        self.rateLimits = configuration.rateLimits
        self.limitsEveryEndpoint = configuration.limitsEveryEndpoint
    }

    // MARK: - In-process control

    func addFault(_ fault: SandboxFault) {
        // HTTP statuses are three digits; a fault outside them would be refused by the HTTP layer.
        var fault = fault
        fault.status = min(max(fault.status, 100), 599)
        faults.append(fault)
    }
    func clearFaults() { faults.removeAll() }
    func receivedRequests() -> [ReceivedRequest] { received }
    func clearReceivedRequests() { received.removeAll() }
    func issuedAccessTokens() -> [String] { Array(accessTokens.keys) }
    func expireAccessTokens() { accessTokens.removeAll() }
    func setRateLimit(_ limit: Int?, for endpoint: String) { rateLimits[endpoint] = limit }
    func setLatency(_ latency: Duration?) { self.latency = latency }

    /// Returns the received requests as soon as they satisfy `condition`.
    func received(where condition: @escaping @Sendable ([ReceivedRequest]) -> Bool) async -> [ReceivedRequest] {
        if condition(received) { return received }
        return await withCheckedContinuation { waiters.append((condition, $0)) }
    }

    private func wakeWaiters() {
        var pending: [(condition: @Sendable ([ReceivedRequest]) -> Bool, continuation: CheckedContinuation<[ReceivedRequest], Never>)] = []
        for waiter in waiters {
            if waiter.condition(received) { waiter.continuation.resume(returning: received) } else { pending.append(waiter) }
        }
        waiters = pending
    }

    // MARK: - Requests

    func handle(method: String, path: String, query: String?, headers: [String: String], body: Data, now: Date) -> SandboxReply {
        if path.hasPrefix("/_sandbox/") {
            return control(method: method, path: path, body: body)
        }
        var reply = answer(method: method, path: path, query: query, headers: headers, body: body, now: now)
        if reply.delay == nil { reply.delay = latency }
        received.append(ReceivedRequest(
            method: method, path: path, query: query, headers: headers,
            body: String(decoding: body, as: UTF8.self), receivedAt: Int64(now.timeIntervalSince1970 * 1000),
            status: reply.status))
        if !waiters.isEmpty { wakeWaiters() }
        return reply
    }

    private func answer(method: String, path: String, query: String?, headers: [String: String], body: Data, now: Date) -> SandboxReply {
        if let index = faults.firstIndex(where: { $0.matches(method: method, path: path) }) {
            let fault = faults[index]
            faults[index].count -= 1
            if faults[index].count <= 0 { faults.remove(at: index) }
            return reply(for: fault)
        }
        guard let route = Route(method: method, path: path) else {
            return Route.pathExists(path) ? .message(405, "method not allowed") : .notFound
        }
        if route.requiresAuth, let refusal = authorize(headers["authorization"], now: now) {
            return refusal
        }
        var limitHeaders: [String: String] = [:]
        if let limit = limit(for: route) {
            let length = max(1, configuration.rateLimitWindow.components.seconds)
            let minute = Int64(now.timeIntervalSince1970) / length
            var window = windows[route.key] ?? (minute, 0)
            if window.minute != minute { window = (minute, 0) }
            let reset = String((minute + 1) * length)
            if window.count >= limit {
                return .json(429, ["message": "rate limit exceeded"], headers: [
                    "X-Ratelimit-Limit": String(limit), "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset,
                ])
            }
            window.count += 1
            windows[route.key] = window
            limitHeaders = [
                "X-Ratelimit-Limit": String(limit), "X-Ratelimit-Remaining": String(limit - window.count),
                "X-Ratelimit-Reset": reset,
            ]
        }
        let key = method == "GET" || !configuration.honoursIdempotencyKeys ? nil : headers["idempotency-key"]
        if let key, var first = idempotentReplies[key] {
            first.headers["Idempotent-Replayed"] = "true"
            return first
        }
        var reply = respond(to: route, query: Self.parameters(query), body: body, now: now)
        reply.headers.merge(limitHeaders) { current, _ in current }
        if let key, (200..<300).contains(reply.status) { idempotentReplies[key] = reply }
        return reply
    }

    private func limit(for route: Route) -> Int? {
        if let limit = rateLimits[route.key] { return limit }
        guard limitsEveryEndpoint else { return nil }
        return route.method == "GET" ? configuration.defaultReadLimit : configuration.defaultWriteLimit
    }

    private func reply(for fault: SandboxFault) -> SandboxReply {
        var reply: SandboxReply
        if let body = fault.body {
            reply = SandboxReply(status: fault.status, body: Data(body.utf8))
        } else if fault.html == true {
            let reason = HTTPStatusReason.phrase(for: fault.status)
            reply = SandboxReply(status: fault.status, headers: ["Content-Type": "text/html"],
                                 body: Data(SandboxData.gatewayPage(status: fault.status, reason: reason).utf8))
        } else {
            reply = .message(fault.status, HTTPStatusReason.picusMessage(for: fault.status))
        }
        if let retryAfter = fault.retryAfter { reply.headers["Retry-After"] = retryAfter }
        for (name, value) in fault.headers ?? [:] { reply.headers[name] = value }
        if let delay = fault.delayMs { reply.delay = .milliseconds(delay) }
        return reply
    }

    private func authorize(_ header: String?, now: Date) -> SandboxReply? {
        guard let header, !header.trimmingCharacters(in: .whitespaces).isEmpty else {
            return .message(401, "auth header is empty")
        }
        let token = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")
        if let bad = token.firstIndex(where: { !base64.contains($0) }) {
            return .message(401, "illegal base64 data at input byte \(token.distance(from: token.startIndex, to: bad))")
        }
        guard let expiry = accessTokens[token], expiry > now else {
            return .message(401, "unauthorized error")
        }
        return nil
    }

    // MARK: - Endpoints

    private func respond(to route: Route, query: [String: String], body: Data, now: Date) -> SandboxReply {
        switch (route.method, route.template) {
        case ("POST", "/v1/auth/token"):
            return exchangeToken(body: body, now: now)
        case ("POST", "/v1/auth/refresh"):
            refreshToken = Self.makeToken(prefix: "rt")
            accessTokens.removeAll()
            return .json(200, ["refresh_token": refreshToken])
        case ("GET", "/v1/agents"):
            return .json(200, ["agents": SandboxData.agents])
        case ("GET", "/v1/agents/{id}"):
            return record(in: SandboxData.agents, id: route.id)
        case ("GET", "/v1/simulations"):
            return page(of: simulations, named: "simulations", query: query, defaultLimit: 25, maximumLimit: 50)
        case ("POST", "/v1/simulations"):
            return createSimulation(body: body)
        case ("GET", "/v1/simulations/{id}"):
            return record(in: simulations, id: route.id)
        case ("POST", "/v1/simulations/{id}/simulate-now"):
            return withSimulation(route.id) { _ in .json(200, ["message": "simulation started", "success": true]) }
        case ("PUT", "/v1/simulations/{id}/cancel"):
            return withSimulation(route.id) { _ in .json(200, ["message": "simulation cancelled", "success": true]) }
        case ("GET", "/v1/simulations/{id}/run/latest"):
            return withSimulation(route.id) { simulation in
                .json(200, ["simulation_id": simulation["id"] ?? 0, "status": "COMPLETED", "prevention_score": 87,
                            "detection_score": 61, "completed_at": SandboxData.createdAt])
            }
        case ("GET", "/v1/templates"):
            return page(of: SandboxData.templates, named: "templates", query: query, defaultLimit: 25, maximumLimit: 50)
        case ("GET", "/v1/templates/{id}"):
            return record(in: SandboxData.templates, id: route.id)
        case ("GET", "/v1/integrations"):
            return .json(200, ["integrations": SandboxData.integrations])
        case ("GET", "/v2/mitigation/devices"):
            return .json(200, ["devices": SandboxData.devices, "total_count": 1, "limit": 100, "offset": 0])
        case ("GET", "/v1/mitigation/devices"):
            return .message(410, "this endpoint is deprecated, use /v2/mitigation/devices")
        case ("GET", "/v1/activity-logs"):
            return page(of: [], named: "activity_logs", query: query, defaultLimit: 100, maximumLimit: 1000)
        default:
            return .notFound
        }
    }

    private func exchangeToken(body: Data, now: Date) -> SandboxReply {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return .validation(["parsing error": "invalid character in request body"])
        }
        guard let presented = object["refresh_token"] as? String, !presented.isEmpty else {
            return .validation(["refresh_token": "tag=required"])
        }
        guard presented == refreshToken else {
            return .message(401, "unauthorized error")
        }
        let token = Self.makeToken(prefix: "eyJ")
        let expiry = now.addingTimeInterval(configuration.accessTokenLifetime.timeInterval)
        accessTokens[token] = expiry
        let expireAt = configuration.expireAtInSeconds
            ? Int64(expiry.timeIntervalSince1970) : Int64(expiry.timeIntervalSince1970 * 1000)
        return .json(200, ["token": token, "expire_at": expireAt])
    }

    private func createSimulation(body: Data) -> SandboxReply {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return .message(400, "invalid request body")
        }
        guard let name = object["simulation_name"] as? String, !name.isEmpty else {
            return .validation(["simulation_name": "tag=required"])
        }
        if simulationNames.contains(name) {
            return .json(400, ["message": "simulation_already_exist", "error_code": 1001])
        }
        let agentID = object["agent_id"] as? Int ?? 1
        let templateID = object["template_id"] as? Int ?? 1
        guard SandboxData.agents.contains(where: { $0["id"] as? Int == agentID }) else {
            return .validation(["agent_id": "agent \(agentID) does not exist"])
        }
        let simulation = SandboxData.simulation(id: nextSimulationID, name: name, agentID: agentID, templateID: templateID)
        nextSimulationID += 1
        simulations.append(simulation)
        simulationNames.insert(name)
        return .json(201, simulation)
    }

    private func withSimulation(_ id: String?, _ body: ([String: Any]) -> SandboxReply) -> SandboxReply {
        guard let id, UInt(id) != nil else { return .parsing(id ?? "") }
        guard let number = Int(id), let simulation = simulations.first(where: { $0["id"] as? Int == number }) else { return .notFound }
        return body(simulation)
    }

    private func record(in records: [[String: Any]], id: String?) -> SandboxReply {
        guard let id, UInt(id) != nil else { return .parsing(id ?? "") }
        guard let number = Int(id), let record = records.first(where: { $0["id"] as? Int == number }) else { return .notFound }
        return .json(200, record)
    }

    private func page(of records: [[String: Any]], named name: String, query: [String: String], defaultLimit: Int,
                      maximumLimit: Int) -> SandboxReply {
        var limit = defaultLimit
        var offset = 0
        if let text = query["limit"] {
            guard let value = UInt(text) else { return .parsing(text) }
            guard value <= maximumLimit else {
                return .validation(["limit": "tag=max, param=\(maximumLimit), given value=\(value)"])
            }
            limit = Int(value)
        }
        if let text = query["offset"] {
            guard let value = UInt(text) else { return .parsing(text) }
            offset = Int(min(value, UInt(Int.max)))
        }
        let slice = offset < records.count ? Array(records[offset..<min(records.count, offset + limit)]) : []
        return .json(200, [name: slice, "pages": ["limit": limit, "offset": offset, "total_count": records.count]])
    }

    // MARK: - Control API

    private func control(method: String, path: String, body: Data) -> SandboxReply {
        switch (method, path) {
        case ("GET", "/_sandbox/health"):
            return .json(200, ["status": "ok"])
        case ("POST", "/_sandbox/faults"):
            let decoder = JSONDecoder()
            let list = (try? decoder.decode([SandboxFault].self, from: body)) ?? (try? decoder.decode(SandboxFault.self, from: body)).map { [$0] }
            if let list, list.allSatisfy({ (100...599).contains($0.status) && $0.count > 0 }) {
                faults.append(contentsOf: list)
            } else {
                return .message(400, "a fault is {\"status\":503,\"count\":1,\"method\":\"GET\",\"path\":\"/v1/agents\",\"retryAfter\":\"5\",\"html\":false,\"delayMs\":0}")
            }
            return .json(201, ["faults": faults.count])
        case ("DELETE", "/_sandbox/faults"):
            faults.removeAll()
            return .noContent
        case ("GET", "/_sandbox/requests"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = (try? encoder.encode(["requests": received])) ?? Data()
            return SandboxReply(status: 200, headers: ["Content-Type": "application/json"], body: data)
        case ("DELETE", "/_sandbox/requests"):
            received.removeAll()
            return .noContent
        case ("POST", "/_sandbox/tokens/expire"):
            accessTokens.removeAll()
            return .noContent
        case ("PUT", "/_sandbox/rate-limits"):
            guard let limits = try? JSONDecoder().decode([String: Int].self, from: body) else {
                return .message(400, "rate limits are {\"GET /v1/agents\": 100}")
            }
            rateLimits.merge(limits) { _, new in new }
            return .noContent
        case ("PUT", "/_sandbox/latency"):
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let ms = object["ms"] as? Int else {
                return .message(400, "latency is {\"ms\": 20}")
            }
            latency = ms > 0 ? .milliseconds(ms) : nil
            return .noContent
        case ("DELETE", "/_sandbox/rate-limits"):
            rateLimits.removeAll()
            limitsEveryEndpoint = false
            windows.removeAll()
            return .noContent
        default:
            return .notFound
        }
    }

    // MARK: - Helpers

    static func makeToken(prefix: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return prefix + String((0..<40).map { _ in alphabet.randomElement()! })
    }

    static func parameters(_ query: String?) -> [String: String] {
        guard let query else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
            result[name] = value
        }
        return result
    }
}

/// An endpoint the sandbox serves, resolved from a method and a path.
struct Route {
    let method: String
    let template: String
    let id: String?
    var key: String { "\(method) \(template)" }
    var requiresAuth: Bool { template != "/v1/auth/token" }

    static let endpoints: [(method: String, template: String)] = [
        ("POST", "/v1/auth/token"), ("POST", "/v1/auth/refresh"),
        ("GET", "/v1/agents"), ("GET", "/v1/agents/{id}"),
        ("GET", "/v1/simulations"), ("POST", "/v1/simulations"), ("GET", "/v1/simulations/{id}"),
        ("POST", "/v1/simulations/{id}/simulate-now"), ("PUT", "/v1/simulations/{id}/cancel"),
        ("GET", "/v1/simulations/{id}/run/latest"),
        ("GET", "/v1/templates"), ("GET", "/v1/templates/{id}"),
        ("GET", "/v1/integrations"), ("GET", "/v2/mitigation/devices"), ("GET", "/v1/mitigation/devices"),
        ("GET", "/v1/activity-logs"),
    ]

    init?(method: String, path: String) {
        for endpoint in Self.endpoints where endpoint.method == method {
            if let id = Self.match(endpoint.template, path) {
                self.method = method
                self.template = endpoint.template
                self.id = id.isEmpty ? nil : id
                return
            }
        }
        return nil
    }

    static func pathExists(_ path: String) -> Bool {
        endpoints.contains { match($0.template, path) != nil }
    }

    /// The `{id}` segment when the path fits the template ("" when the template has none), else nil.
    private static func match(_ template: String, _ path: String) -> String? {
        let wanted = template.split(separator: "/")
        var given = path.split(separator: "/")
        if path.hasSuffix("/"), given.count > 0 { given = Array(given) }
        guard wanted.count == given.count else { return nil }
        var id = ""
        for (expected, actual) in zip(wanted, given) {
            if expected == "{id}" { id = String(actual) } else if expected != actual { return nil }
        }
        return id
    }
}

/// Reason phrases and Picus messages for scripted faults.
enum HTTPStatusReason {
    static func phrase(for status: Int) -> String {
        switch status {
        case 408: "Request Timeout"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Temporarily Unavailable"
        case 504: "Gateway Time-out"
        default: "Error"
        }
    }

    static func picusMessage(for status: Int) -> String {
        switch status {
        case 400: "bad request"
        case 401: "unauthorized error"
        case 403: "forbidden"
        case 404: "not found error"
        case 408: "request timeout"
        case 429: "rate limit exceeded"
        case 500: "internal server error"
        case 503: "service unavailable"
        case 504: "gateway timeout"
        default: "error"
        }
    }
}
