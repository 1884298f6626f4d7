// LD_PRELOAD counter of malloc calls larger than glibc's thread cache keeps (tcache: chunks of
// up to 1032 usable bytes by default). Larger requests take _int_malloc's large-bin path and
// their frees _int_free's: thousands of instructions and dozens of L1i misses each (see
// Benchmarks/README.md, "Results, 2026-12-06, third session"). run-large-mallocs.sh builds this,
// runs HandshakeProfile under it and prints where such allocations come from.
//
// LARGE_MALLOCS_OUT: file to write one line per large malloc: the size, then up to 23 return
// addresses, each as a symbol (exported) or +offset from its object's base (for addr2line).
// LARGE_MALLOCS_MIN: the smallest size reported (default 1033).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>

static void *(*real_malloc)(size_t) = 0;
static __thread int inside = 0;
static FILE *out = 0;
static long minimum = -1;

void *malloc(size_t size) {
    if (!real_malloc) real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    void *pointer = real_malloc(size);
    if (inside) return pointer;
    inside = 1;
    if (minimum < 0) {
        const char *text = getenv("LARGE_MALLOCS_MIN");
        minimum = text ? atol(text) : 1033;
    }
    const char *path = getenv("LARGE_MALLOCS_OUT");
    if (path && (long)size >= minimum) {
        if (!out) out = fopen(path, "w");
        if (out) {
            void *frames[24];
            int count = backtrace(frames, 24);
            fprintf(out, "%zu", size);
            for (int index = 1; index < count; index++) {
                Dl_info info;
                if (dladdr(frames[index], &info) && info.dli_sname) {
                    fprintf(out, " %s", info.dli_sname);
                } else if (info.dli_fbase) {
                    fprintf(out, " +%lx", (unsigned long)((char *)frames[index] - (char *)info.dli_fbase));
                } else {
                    fprintf(out, " %p", frames[index]);
                }
            }
            fprintf(out, "\n");
            fflush(out);
        }
    }
    inside = 0;
    return pointer;
}
