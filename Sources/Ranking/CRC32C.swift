import CFunnelKernels

/// CRC32C (Castagnoli) over bytes; hardware-accelerated with SSE4.2. Check value: "123456789" → 0xE3069283.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return funnel_crc32c(0, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
