import CausewayCore
import Hummingbird
import NIOCore

/// Per-request state for the Parse API. `ParseResponder` fills in `call` (the request as Parse sees it,
/// after `_method` override and body-borne credentials) and `caller` (who is asking) before routing, so
/// every route handler finds them here.
public struct ParseRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's IP address, for `masterKeyIps`, metrics access and login throttling: the connection's
    /// peer, or behind a trusted proxy the client it names (`CausewayResponder`, `server.trustedProxies`).
    public internal(set) var remoteAddress: String?
    /// The connection's peer (the load balancer, behind one).
    public let peerAddress: String?
    var call = ParseCall()
    public var caller = Caller.anonymous

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.remoteAddress = peerAddress
    }
}
