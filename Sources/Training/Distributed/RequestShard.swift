import Ranking

/// Which rows of a file rank `rank` of `size` trains on: those whose request id hashes to it, so that a request's
/// impressions stay together on one rank (a sharded evaluation keys by the GAUC's groups instead). Without a request
/// id column (every key 0) it falls back to the row's position in the file. Every rank reads the whole file and keeps
/// its own rows: the shards partition it.
struct RequestShard {
    let rank: Int
    let size: Int

    /// Whether row `row` of `data`, at position `ordinal` in the file, is this rank's.
    func keeps(_ data: EncodedRows, row: Int, ordinal: Int) -> Bool {
        owns(key: data.requestKey[row], ordinal: ordinal)
    }

    /// Whether the rows of key `key` (a request's, or a user's for a sharded evaluation grouped by user) are this
    /// rank's; key 0 (no such column) goes by the row's position `ordinal` in the file.
    func owns(key: UInt64, ordinal: Int) -> Bool {
        guard size > 1 else { return true }
        // The request key is already an xxh64; one more SplitMix round decorrelates it from the GAUC partitions.
        guard key != 0 else { return ordinal % size == rank }
        var mix = SplitMix64(seed: key)
        return Int(mix.next() % UInt64(size)) == rank
    }
}
