/* plan.h — the activation arena planner (runtime/plan.c), internal to the runtime. */
#ifndef FCN_PLAN_H
#define FCN_PLAN_H

#include <stddef.h>

typedef struct fcn_plan_item {
    int id;                        /* caller's tag (value id, or scratch of a node) */
    int first, last;               /* live over steps [first, last] */
    size_t size;                   /* bytes, a multiple of 64 */
    size_t offset;                 /* set by fcn_plan_place, a multiple of 64 */
} fcn_plan_item;

/* Assigns offsets so that items alive at the same step never overlap; returns the arena size.
 * -1 on out of memory. */
int fcn_plan_place(fcn_plan_item *items, int n, size_t *arena_bytes);
/* Max over steps of the live bytes, and of the two largest live items. */
void fcn_plan_stats(const fcn_plan_item *items, int n, int first_step, int last_step, size_t *peak_live,
                    size_t *two_largest);

#endif
