import Hummingbird
import NIOCore

/// Per-request state for the Parse API.
public struct ParseRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's IP address, for `masterKeyIps`.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}
