// CRC32C (Castagnoli): SSE4.2 crc32 instruction when available, else a byte-wise table.
// Check value: crc32c("123456789") = 0xE3069283.
#include "funnel_kernels.h"

#include <nmmintrin.h>
#include <string.h>

static uint32_t table[256];
static int has_sse42 = 0;

// Built once at load time so concurrent callers never race on the table.
__attribute__((constructor)) static void build_table(void) {
    __builtin_cpu_init();
    has_sse42 = __builtin_cpu_supports("sse4.2");
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        table[i] = crc;
    }
}

static uint32_t crc32c_table(uint32_t crc, const uint8_t *p, size_t n) {
    while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

uint32_t funnel_crc32c(uint32_t crc, const void *data, size_t length) {
    crc = ~crc;
    crc = has_sse42 ? crc32c_sse42(crc, data, length) : crc32c_table(crc, data, length);
    return ~crc;
}
