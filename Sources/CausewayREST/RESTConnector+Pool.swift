import CausewayCore

/// The admin page's "pool in use": requests to the API in flight out of `maxConcurrency`.
extension RESTConnector: PoolReporting {
    public var poolUsage: PoolUsage? {
        PoolUsage(inUse: limiter.permits - limiter.availablePermits, capacity: limiter.permits)
    }
}
