/// The caller of the request being served, visible to connectors that forward the user's identity to
/// their source (a REST API's `forwardIdentity` header). Set by the gateway around every connector call.
public enum RequestCaller {
    @TaskLocal public static var current: Caller?
}
