import FlyingFox
import FlyingSocks
import Foundation

/// FlyingFox's socket pool with `TCP_NODELAY` set on every socket it waits on. FlyingFox 0.27.1 writes a
/// response's header and body in two writes and has no option for Nagle's algorithm, so without this each
/// response waited for the client's delayed ACK: about 40 ms per decision on Linux (measured with
/// Scripts/bench/review_load.py, 52 ms median for one reviewer). The listening socket waits first (on accept),
/// and Linux hands the option down to the sockets it accepts.
struct NoDelayPool<Base: AsyncSocketPool>: AsyncSocketPool {
    let base: Base

    func prepare() async throws { try await base.prepare() }

    func run() async throws { try await base.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        try? socket.setValue(true, for: BoolSocketOption(level: Int32(IPPROTO_TCP), name: Int32(TCP_NODELAY)))
        try await base.suspendSocket(socket, untilReadyFor: events)
    }
}
