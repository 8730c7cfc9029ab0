import CMalloc
import Glibc

/// glibc gives each thread that allocates under contention its own arena (up to 8 per core) and keeps freed memory
/// in them, so a daemon whose Dispatch threads come and go grows RSS with every burst that spreads work over new
/// threads: measured under load on a busy 2-core machine, 7 arenas holding 3–10 MiB each and RSS +12% in 5 minutes
/// after warm-up. One arena per core bounds that. `MALLOC_ARENA_MAX` in the environment still wins.
enum MemoryPolicy {
    static func apply(cores: Int) {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        _ = mallopt(M_ARENA_MAX, Int32(clamping: max(1, cores)))
    }
}
