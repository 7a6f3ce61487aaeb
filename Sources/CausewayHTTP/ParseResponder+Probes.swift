import CausewayCore

/// Liveness and readiness for load balancers and Kubernetes probes, beside Parse's `/health` (unchanged),
/// at `<mount>/health/live` and `<mount>/health/ready` (also without the mount path), no keys needed:
///
/// - live: 200 `{"status":"alive"}` whenever the process answers (restart it only when this fails);
/// - ready: 200 `{"status":"ready"}` when every connector and the identity providers are up and the node is
///   not shutting down; 503 `{"status":"draining"}` from SIGTERM on, 503 `{"status":"starting"|"unavailable",
///   "components":{…}}` while a part is not up (as `/health`).
extension ParseResponder {
    func probeReply(_ path: String) -> ParseReply? {
        let base = config.server.mountPath == "/" ? "" : config.server.mountPath
        func matches(_ suffix: String) -> Bool {
            path == base + suffix || path == base + suffix + "/" || path == suffix || path == suffix + "/"
        }
        if matches("/health/live") { return .json(200, .object(["status": .string("alive")])) }
        if matches("/health/ready") {
            if readiness.isDraining { return .json(503, .object(["status": .string("draining")])) }
            let h = health()
            return h.status == 200 ? .json(200, .object(["status": .string("ready")])) : h
        }
        return nil
    }
}
