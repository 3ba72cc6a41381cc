import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Serves each connection with its tasks preferring the connection's own event loop (a
/// ``EventLoopTaskExecutor``): a request's handler, its store reads and its answer run on the
/// thread that reads and writes the connection's socket, instead of hopping to Swift
/// concurrency's pool and back at every request (two thread wake-ups a request, each a few
/// microseconds of the kernel's time under load). Work that waits elsewhere (a store's queue, a
/// database connection's event loop) still does, and comes back here.
struct EventLoopPinnedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        let executor = EventLoopTaskExecutor.of(value.channel.eventLoop)
        await withTaskExecutorPreference(executor) { await base.handle(value: value, logger: logger) }
    }
}

/// Runs the jobs of tasks that prefer it on one event loop: one executor a loop (``of(_:)``), so
/// that a job already on the loop's thread is recognised as on its executor.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    private init(_ loop: any EventLoop) { self.loop = loop }

    private static let executors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    /// The executor of `loop`.
    static func of(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        executors.withLock { executors in
            if let executor = executors[ObjectIdentifier(loop)] { return executor }
            let executor = EventLoopTaskExecutor(loop)
            executors[ObjectIdentifier(loop)] = executor
            return executor
        }
    }

    /// The executor of the event loop whose thread this is, if it is one's.
    static var current: EventLoopTaskExecutor? { MultiThreadedEventLoopGroup.currentEventLoop.map(of) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
