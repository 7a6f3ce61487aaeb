import AsyncHTTPClient
import CausewayCore
import Logging

/// The circuit breaker's background probe: while the breaker is open, one request after each cool-down —
/// the declared `circuitBreaker.healthPath`, else the first collection's list endpoint for one record —
/// and the breaker closes as soon as the API answers (any status below 500), so no client request pays
/// for the trial. Runs as the connector's `runBackground` (a child task of its `ConnectorService`), so
/// it ends when the connector is shut down or replaced by a reload.
extension RESTConnector {
    public func runBackground(logger: Logger) async {
        guard breaker.settings.failureThreshold > 0 else { return }
        breaker.setProbing(true)
        defer { breaker.setProbing(false) }
        for await _ in breaker.openings {
            while !Task.isCancelled {
                switch breaker.nextProbeStep() {
                case .idle:
                    break
                case .wait(let until):
                    do { try await clock.sleep(until) } catch { return }
                    continue
                case .probe:
                    let answered = await probeUpstream(logger: logger)
                    breaker.probeEnded(answered: Task.isCancelled ? nil : answered)
                    if answered == true {
                        logger.notice("upstream API answers again; circuit breaker closed", metadata: ["causeway.connector": .string(name)])
                    }
                    continue
                }
                break
            }
            if Task.isCancelled { return }
        }
    }

    /// The probe's URL: the health path, or the first collection's list asking for one record.
    var probeURL: String? {
        if let path = settings.circuitBreaker.healthPath { return settings.baseURL + path }
        guard let c = byClass.values.min(by: { $0.schema.className < $1.schema.className }) else { return nil }
        var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: c.list.query, pageSize: 1)
        return pager.next()
    }

    /// One GET with the connector's credentials and request timeout, outside the breaker and the
    /// concurrency limit: whether the API answered with a status below 500.
    func probeUpstream(logger: Logger) async -> Bool {
        guard let url = probeURL, let http = try? client() else { return false }
        do {
            let answer = try await sendOnce(method: "GET", url: url, body: nil, http: http, caller: nil)
            if answer.status >= 500 {
                logger.debug("circuit breaker probe: the API failed", metadata: ["causeway.connector": .string(name), "upstream.status": .stringConvertible(answer.status)])
                return false
            }
            return true
        } catch {
            logger.debug("circuit breaker probe: no answer", metadata: ["causeway.connector": .string(name), "error": .string(String(reflecting: error))])
            return false
        }
    }
}
