import Foundation

/// The Picus-shaped records the sandbox serves, unwrapped as the real API returns them.
enum SandboxData {
    static let createdAt: Int64 = 1_611_131_624_037

    static var agents: [[String: Any]] {
        (1...3).map { id -> [String: Any] in
        let status: String = id == 3 ? "Offline" : "Online"
        let platform: String = id == 2 ? "Linux" : "Windows"
        let created: Int64 = createdAt + Int64(id) * 86_400_000
        return [
            "id": id, "name": "agent-\(id)", "status": status,
            "type": "Endpoint", "platform_name": platform, "created_at": created,
        ]
        }
    }

    static var templates: [[String: Any]] {
        (1...5).map { id -> [String: Any] in
        let contentType: String = id.isMultiple(of: 2) ? "Dynamic" : "Static"
        let threats: Int = id * 7
        return [
            "id": id, "name": "Template \(id)", "description": "Sandbox attack template \(id)",
            "threat_count": threats, "content_type": contentType,
            "category_name": "Predefined", "subcategory_name": "Ransomware",
        ]
        }
    }

    static func simulation(id: Int, name: String, agentID: Int, templateID: Int) -> [String: Any] {
        let created: Int64 = createdAt + Int64(id) * 60_000
        return [
            "id": id, "name": name, "agent_id": agentID, "agent_name": "agent-\(agentID)",
            "template_id": templateID, "template_name": "Template \(templateID)",
            "status": "COMPLETED", "last_prevention_result": "Blocked", "created_at": created,
        ]
    }

    static func initialSimulations() -> [[String: Any]] {
        (1...24).map { simulation(id: $0, name: "simulation-\($0)", agentID: ($0 % 3) + 1, templateID: ($0 % 5) + 1) }
    }

    static var integrations: [[String: Any]] { [
        ["id": 1, "name": "Splunk", "type": "SIEM", "status": "Healthy"],
        ["id": 2, "name": "CrowdStrike", "type": "EDR", "status": "Healthy"],
    ] }

    static var devices: [[String: Any]] { [
        ["id": 1, "name": "fw-edge-1", "vendor": "Palo Alto", "type": "NGFW"],
    ] }

    static func gatewayPage(status: Int, reason: String) -> String {
        "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n<center><h1>\(status) \(reason)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    }
}
