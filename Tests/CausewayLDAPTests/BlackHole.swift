import Foundation
import Glibc
import Synchronization

/// A loopback server that accepts TCP connections and never answers (a hung directory): the kernel
/// completes each handshake, a thread accepts and counts the connections and keeps them open until `close`.
final class BlackHole: Sendable {
    let port: Int
    private let listener: Int32
    private let state = Mutex<(accepted: Int, open: [Int32], closed: Bool)>((0, [], false))

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { Glibc.close(fd); throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }  // the listener was shut down
                let keep = state.withLock { s -> Bool in
                    guard !s.closed else { return false }
                    s.accepted += 1
                    s.open.append(client)
                    return true
                }
                if !keep { Glibc.close(client); return }
            }
        }
        thread.start()
    }

    var url: String { "ldap://127.0.0.1:\(port)" }
    var accepted: Int { state.withLock { $0.accepted } }

    func close() {
        let fds = state.withLock { s -> [Int32] in
            s.closed = true
            defer { s.open = [] }
            return s.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        for fd in fds { Glibc.close(fd) }
    }
}
