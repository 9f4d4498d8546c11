/* cpu.c — which kernels sessions use: the AVX2+FMA+F16C ones when the CPU (and OS) support
 * them, unless the portable reference kernels are forced (tests, FULLCONV_REFERENCE=1). */
#include "runtime/op.h"
#include "runtime/kernels/kernels.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static int forced_reference = -1;   /* -1: not decided yet (read the environment once) */

static int reference_forced(void)
{
    if (forced_reference < 0) {
        const char *e = getenv("FULLCONV_REFERENCE");
        forced_reference = (e && *e && strcmp(e, "0") != 0) ? 1 : 0;
    }
    return forced_reference;
}

static int cpu_has_simd_uncached(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    /* F16C straight from CPUID leaf 1 (ECX bit 29): clang 14 does not know
     * __builtin_cpu_supports("f16c"), and the fuzz/sanitizer builds use clang. */
    unsigned eax, ebx, ecx = 0, edx;
    int f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
    return 0;
#endif
}

/* CPUID traps to the hypervisor in a VM (microseconds each) and session creation asks once
 * per node: ask the CPU once per process. */
static int cpu_has_simd(void)
{
    static _Atomic int cached = -1;   /* racing first calls compute the same value */
    if (cached < 0) cached = cpu_has_simd_uncached();
    return cached;
}

int fcn_use_reference_kernels(int on)
{
    int prev = reference_forced();
    forced_reference = on ? 1 : 0;
    return prev;
}

int fcn_simd_enabled(void)
{
    return !reference_forced() && cpu_has_simd();
}

/* The cost models fitted per vendor (conv_fast.c's Winograd tile, sgemm_avx2.c's GEMV prefetch):
 * AMD's Zen 4 streams big weights from memory behind the arithmetic and its hardware prefetchers
 * outrun software ones; the Xeons measured before needed both. FULLCONV_COST_MODEL=amd|intel
 * overrides what CPUID says (tests, and measuring one model on the other CPU); read per call,
 * as session creation asks once per node, CPUID once per process. */
static int cpu_is_amd_uncached(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_is("amd") ? 1 : 0;
#else
    return 0;
#endif
}

int fcn_cpu_is_amd(void)
{
    const char *e = getenv("FULLCONV_COST_MODEL");
    if (e && strcmp(e, "amd") == 0) return 1;
    if (e && strcmp(e, "intel") == 0) return 0;
    static _Atomic int cached = -1;
    if (cached < 0) cached = cpu_is_amd_uncached();
    return cached;
}

const char *fcn_kernel_isa(void)
{
    if (!fcn_simd_enabled()) return "reference";
    int mr;
    return fcn_best_ukernel(&mr) == fcn_ukernel_16x16_avx512 ? "avx2+fma, avx512f gemm" : "avx2+fma";
}
