/* ukernel_select.c — which GEMM micro-kernel sessions use. libgcc's cpu detection also checks
 * that the OS saves the AVX-512 state (XCR0), so __builtin_cpu_supports is sufficient. */
#include <stdlib.h>
#include <string.h>
#include "runtime/kernels/kernels.h"

static _Atomic int cached = -1;   /* -1: not decided yet (read the environment once) */

static int avx512_usable(void);

/* Test hook (as fcn_use_reference_kernels): turns the AVX-512 kernels off or back on (if the
 * CPU has them) for sessions and kernels set up afterwards; returns the previous state. */
int fcn_set_avx512(int on)
{
    int prev = avx512_usable();
    __builtin_cpu_init();
    cached = on && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    return prev;
}

static int avx512_usable(void)
{
    if (cached < 0) {
        const char *off = getenv("FULLCONV_NO_AVX512");
        __builtin_cpu_init();
        cached = !(off && *off && strcmp(off, "0") != 0) && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512vl");
    }
    return cached;
}

int fcn_avx512_enabled(void) { return avx512_usable(); }

int fcn_env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && *v != '0';
}

fcn_ukernel_fn fcn_best_ukernel(int *mr)
{
    if (avx512_usable()) {
        *mr = 16;
        return fcn_ukernel_16x16_avx512;
    }
    *mr = FCN_MR;
    return fcn_ukernel_6x16_avx2;
}

fcn_ukernel_fn fcn_best_ukernel_ordered(int *mr)
{
    fcn_ukernel_fn k = fcn_best_ukernel(mr);
    return k == fcn_ukernel_16x16_avx512 ? fcn_ukernel_16x16_avx512_ordered : k;
}

int fcn_prepack_layout(fcn_prepack_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (!fcn_simd_enabled()) return -1;
    int mr;
    fcn_best_ukernel(&mr);
    h->layout = FCN_PREPACK_LAYOUT;
    h->mr = (uint32_t)mr;
    h->kc = FCN_KC;
    h->isa = mr == 16 ? 2 : 1;
    return 0;
}
