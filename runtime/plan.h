/* plan.h — the activation arena planner (runtime/plan.c), internal to the runtime. */
#ifndef FCN_PLAN_H
#define FCN_PLAN_H

#include <stddef.h>

typedef struct fcn_plan_item {
    int id;                        /* caller's tag (value id, or scratch of a node) */
    int first, last;               /* live over steps [first, last] */
    size_t size;                   /* bytes, a multiple of 64 */
    size_t offset;                 /* set by fcn_plan_place, a multiple of 64 */
    int late;                      /* may go into the gaps of the others (kernel scratch) */
} fcn_plan_item;

/* Assigns offsets so that items alive at the same step never overlap; returns the arena size.
 * Tries largest-first, non-late before late items, and in order of first use, keeping the
 * smallest. -1 on out of memory. */
int fcn_plan_place(fcn_plan_item *items, int n, size_t *arena_bytes);
/* The largest free run in [0, limit) at steps [first, last] among the n placed items. */
size_t fcn_plan_largest_gap(const fcn_plan_item *items, int n, int first, int last, size_t limit);
/* Max over steps of the live bytes, and of the two largest live items. */
void fcn_plan_stats(const fcn_plan_item *items, int n, int first_step, int last_step, size_t *peak_live,
                    size_t *two_largest);

#endif
