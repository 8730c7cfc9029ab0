import Ranking

/// Which rows of a file rank `rank` of `size` trains on: those whose request id hashes to it, so that a request's
/// impressions stay together on one rank. Without a request id column (every key 0) it falls back to the row's
/// position in the file. Every rank reads the whole file and keeps its own rows: the shards partition it.
struct RequestShard {
    let rank: Int
    let size: Int

    /// Whether row `row` of `data`, at position `ordinal` in the file, is this rank's.
    func keeps(_ data: EncodedRows, row: Int, ordinal: Int) -> Bool {
        guard size > 1 else { return true }
        let key = data.requestKey[row]
        // The request key is already an xxh64; one more SplitMix round decorrelates it from the GAUC partitions.
        guard key != 0 else { return ordinal % size == rank }
        var mix = SplitMix64(seed: key)
        return Int(mix.next() % UInt64(size)) == rank
    }
}
