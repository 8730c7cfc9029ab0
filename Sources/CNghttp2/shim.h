#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A per-session recycling allocator for nghttp2 (nghttp2_session_server_new3). nghttp2 mallocs and frees a few
 * small blocks per stream (the stream, header buffers, outbound items); this keeps freed blocks in size-class free
 * lists of the one session that made them, so a connection's requests stop allocating once it has seen its peak.
 * Blocks of 64 << 0 … 64 << 7 bytes are recycled; larger ones go straight to malloc. Written by hand (no library
 * offers an nghttp2_mem pool): the measured hot path is one /healthz request, which it takes from five mallocs to
 * none. Confined to the session's connection queue, like the session itself. */

enum { FUNNEL_POOL_CLASSES = 8, FUNNEL_POOL_HEADER = 16 };

typedef struct funnel_pool {
    nghttp2_mem mem;
    void *free_lists[FUNNEL_POOL_CLASSES];
} funnel_pool;

/* A block's header: its class (or -1 for a plain malloc) and, for plain blocks, the size asked for. */
typedef struct { int64_t size_class; int64_t size; } funnel_pool_header;

static inline int funnel_pool_class(size_t size) {
    size_t capacity = 64;
    for (int size_class = 0; size_class < FUNNEL_POOL_CLASSES; size_class++, capacity <<= 1) {
        if (size <= capacity) return size_class;
    }
    return -1;
}

static inline size_t funnel_pool_capacity(const funnel_pool_header *header) {
    return header->size_class < 0 ? (size_t)header->size : (size_t)64 << header->size_class;
}

static inline void *funnel_pool_malloc(size_t size, void *user) {
    funnel_pool *pool = (funnel_pool *)user;
    int size_class = funnel_pool_class(size);
    funnel_pool_header *header;
    if (size_class >= 0 && pool->free_lists[size_class] != NULL) {
        void *block = pool->free_lists[size_class];
        pool->free_lists[size_class] = *(void **)block;
        return block;
    }
    size_t capacity = size_class < 0 ? size : (size_t)64 << size_class;
    if (capacity > SIZE_MAX - FUNNEL_POOL_HEADER) return NULL;
    header = (funnel_pool_header *)malloc(FUNNEL_POOL_HEADER + capacity);
    if (header == NULL) return NULL;
    header->size_class = size_class;
    header->size = (int64_t)size;
    return (char *)header + FUNNEL_POOL_HEADER;
}

static inline void funnel_pool_free(void *block, void *user) {
    funnel_pool *pool = (funnel_pool *)user;
    if (block == NULL) return;
    funnel_pool_header *header = (funnel_pool_header *)((char *)block - FUNNEL_POOL_HEADER);
    if (header->size_class < 0) {
        free(header);
        return;
    }
    *(void **)block = pool->free_lists[header->size_class];
    pool->free_lists[header->size_class] = block;
}

static inline void *funnel_pool_calloc(size_t count, size_t size, void *user) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    void *block = funnel_pool_malloc(count * size, user);
    if (block != NULL) memset(block, 0, count * size);
    return block;
}

static inline void *funnel_pool_realloc(void *block, size_t size, void *user) {
    if (block == NULL) return funnel_pool_malloc(size, user);
    funnel_pool_header *header = (funnel_pool_header *)((char *)block - FUNNEL_POOL_HEADER);
    size_t capacity = funnel_pool_capacity(header);
    if (header->size_class >= 0 && size <= capacity) return block;
    if (header->size_class < 0 && funnel_pool_class(size) < 0) {  /* large to large: the C library's realloc */
        if (size > SIZE_MAX - FUNNEL_POOL_HEADER) return NULL;
        funnel_pool_header *moved = (funnel_pool_header *)realloc(header, FUNNEL_POOL_HEADER + size);
        if (moved == NULL) return NULL;
        moved->size = (int64_t)size;
        return (char *)moved + FUNNEL_POOL_HEADER;
    }
    void *grown = funnel_pool_malloc(size, user);
    if (grown == NULL) return NULL;
    memcpy(grown, block, capacity < size ? capacity : size);
    funnel_pool_free(block, user);
    return grown;
}

/* A pool whose `mem` is ready for nghttp2_session_server_new3; NULL when out of memory. */
static inline funnel_pool *funnel_pool_create(void) {
    funnel_pool *pool = (funnel_pool *)calloc(1, sizeof(funnel_pool));
    if (pool == NULL) return NULL;
    pool->mem.mem_user_data = pool;
    pool->mem.malloc = funnel_pool_malloc;
    pool->mem.free = funnel_pool_free;
    pool->mem.calloc = funnel_pool_calloc;
    pool->mem.realloc = funnel_pool_realloc;
    return pool;
}

/* Frees the recycled blocks and the pool; call after nghttp2_session_del, which returns every block it held. */
static inline void funnel_pool_destroy(funnel_pool *pool) {
    if (pool == NULL) return;
    for (int size_class = 0; size_class < FUNNEL_POOL_CLASSES; size_class++) {
        void *block = pool->free_lists[size_class];
        while (block != NULL) {
            void *next = *(void **)block;
            free((char *)block - FUNNEL_POOL_HEADER);
            block = next;
        }
    }
    free(pool);
}
