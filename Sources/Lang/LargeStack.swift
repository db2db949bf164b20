import Foundation

extension Interpreter {
    /// The stack size of the thread that runs programs: deep recursion in user code ends in the call-depth error
    /// long before it reaches this.
    static let largeStackBytes = 512 << 20

    /// Runs `body` on a new thread with a 512 MiB stack and returns once that thread has ended.
    ///
    /// The thread is a joined POSIX thread, not a `Foundation.Thread`: a `Foundation.Thread` keeps its `pthread_t`
    /// after the thread has exited, and releasing it while the thread is still tearing down (a semaphore signalled
    /// at the end of `body` lets the caller run on before that) corrupted the heap about once in 25 test runs on a
    /// loaded machine (swift-corelibs-foundation issue 5240). `pthread_join` returns only when the thread is gone.
    /// If no thread can be created, `body` runs on the caller's stack.
    static func onLargeStack(_ body: @escaping () -> Void) {
        final class Work { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return body() }
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, largeStackBytes)
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t? = nil
        #else
        var thread = pthread_t()
        #endif
        let started = pthread_create(&thread, &attributes, { raw in
            if let raw { Unmanaged<Work>.fromOpaque(raw).takeRetainedValue().body() }
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            return body()
        }
        #if canImport(Darwin)
        if let thread { pthread_join(thread, nil) }
        #else
        pthread_join(thread, nil)
        #endif
    }
}
