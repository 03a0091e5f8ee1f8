import Synchronization

/// Listening ports for the servers tests start (the PostgreSQL cluster, workers' HTTP surfaces).
///
/// Drawn below Linux's ephemeral range (32768–60999 by default), from which the kernel picks the local port of
/// every outgoing connection and of every listener bound to port 0 (the embedded broker's), and never twice in
/// one test process: a port chosen here is taken only by another process's test server, never by a connection
/// that happened to be open.
public enum TestPorts {
    /// Ports tests choose from.
    public static let range = 20_000..<32_000

    private static let handedOut = Mutex<Set<Int>>([])

    /// Marks `port` as handed out (for a test that needs the port next to one it holds); false if it already was.
    public static func reserve(_ port: Int) -> Bool {
        handedOut.withLock { $0.insert(port).inserted }
    }

    /// `count` random ports from `range`, none handed out before in this process.
    public static func random(count: Int) -> [Int] {
        handedOut.withLock { used in
            var ports: [Int] = []
            while ports.count < count {
                let port = Int.random(in: range)
                if used.insert(port).inserted { ports.append(port) }
            }
            return ports
        }
    }
}
