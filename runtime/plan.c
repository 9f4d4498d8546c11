/* plan.c — static memory plan for activations and scratch: one arena, offsets by liveness.
 *
 * Each buffer lives over the closed step interval [first, last] (step i = node i; graph
 * outputs end at the last step so nothing overwrites them; the session keeps graph inputs in
 * buffers of their own). Placement is "greedy by size" (as in TFLite's arena planner): largest
 * buffers first, each at the lowest offset that does not overlap a placed buffer whose interval
 * intersects its own; a second order (buffers not marked late first, then the late ones — kernel
 * scratch — into their gaps) is tried too and the smaller arena kept. A chain of equal-sized ops
 * therefore needs two buffers; a third order, by first use, is tried last. The result is
 * independent of the node names, so the same model always gets the same plan. */
#include "runtime/plan.h"

#include <stdlib.h>
#include <string.h>

static int by_size_desc(const void *a, const void *b)
{
    const fcn_plan_item *x = *(const fcn_plan_item *const *)a, *y = *(const fcn_plan_item *const *)b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int by_offset(const void *a, const void *b)
{
    const fcn_plan_item *x = *(const fcn_plan_item *const *)a, *y = *(const fcn_plan_item *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Places items in `order` (each at the lowest offset clear of the placed items it shares a
 * step with): the arena size, offsets written to the items. */
static size_t place_in_order(fcn_plan_item **order, fcn_plan_item **overlap, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        fcn_plan_item *it = order[i];
        int k = 0;
        for (int j = 0; j < i; j++) {
            fcn_plan_item *o = order[j];
            if (o->first <= it->last && it->first <= o->last) overlap[k++] = o;
        }
        qsort(overlap, (size_t)k, sizeof *overlap, by_offset);
        size_t off = 0;
        for (int j = 0; j < k; j++) {
            if (overlap[j]->offset >= off + it->size) break;   /* the gap before it fits */
            size_t end = overlap[j]->offset + overlap[j]->size;
            if (end > off) off = end;
        }
        it->offset = off;
        if (off + it->size > total) total = off + it->size;
    }
    return total;
}

/* In order of first use (then largest first): each buffer at the lowest offset free over its
 * life, as the graph runs. Where a chain of unequal buffers decides the arena, largest-first
 * puts the big one low and the chain's small ones above it; in order they stack
 * (MnasNet 1.0: 4.01 MB largest-first, 3.07 MB in order, its widest step 3.07 MB). */
static int by_first(const void *a, const void *b)
{
    const fcn_plan_item *x = *(const fcn_plan_item *const *)a, *y = *(const fcn_plan_item *const *)b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return by_size_desc(a, b);
}

/* Places the items in `order` and keeps that placement if its arena is smaller than *total,
 * else puts back the offsets they had (saved in best). */
static void keep_smaller(fcn_plan_item *items, int n, fcn_plan_item **order, fcn_plan_item **overlap, size_t *best,
                         size_t *total)
{
    for (int i = 0; i < n; i++) best[i] = items[i].offset;
    size_t t = place_in_order(order, overlap, n);
    if (t < *total) *total = t;
    else
        for (int i = 0; i < n; i++) items[i].offset = best[i];
}

int fcn_plan_place(fcn_plan_item *items, int n, size_t *arena_bytes)
{
    *arena_bytes = 0;
    if (n <= 0) return 0;
    fcn_plan_item **order = malloc(sizeof(*order) * (size_t)n);
    fcn_plan_item **overlap = malloc(sizeof(*overlap) * (size_t)n);
    size_t *best = malloc(sizeof(size_t) * (size_t)n);
    if (!order || !overlap || !best) {
        free(order);
        free(overlap);
        free(best);
        return -1;
    }
    for (int i = 0; i < n; i++) order[i] = &items[i];
    qsort(order, (size_t)n, sizeof *order, by_size_desc);
    size_t total = place_in_order(order, overlap, n);
    /* Then the buffers not marked late (tensors) first, the late ones (kernel scratch, alive
     * one step) into the gaps they leave; the smaller arena wins. The session sizes scratch
     * to fit the largest gap the tensors leave alone (fcn_plan_largest_gap), and this order
     * keeps that promise: the tensors land where they did alone, each scratch in its gap. */
    int k = 0, any_late = 0;
    for (int i = 0; i < n; i++) any_late |= items[i].late != 0;
    if (any_late) {
        memcpy(overlap, order, sizeof(*order) * (size_t)n);   /* free until place_in_order */
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < n; i++)
                if ((overlap[i]->late != 0) == (pass == 1)) order[k++] = overlap[i];
        keep_smaller(items, n, order, overlap, best, &total);
    }
    for (int i = 0; i < n; i++) order[i] = &items[i];
    qsort(order, (size_t)n, sizeof *order, by_first);
    keep_smaller(items, n, order, overlap, best, &total);
    free(order);
    free(overlap);
    free(best);
    *arena_bytes = total;
    return 0;
}

size_t fcn_plan_largest_gap(const fcn_plan_item *items, int n, int first, int last, size_t limit)
{
    /* the items sharing a step with [first, last], by offset, swept once: O(n log n) */
    const fcn_plan_item **live = malloc(sizeof(*live) * (size_t)(n > 0 ? n : 1));
    if (!live) return 0;   /* out of memory: no gap, the caller keeps its scratch as it is */
    int k = 0;
    for (int i = 0; i < n; i++)
        if (items[i].first <= last && first <= items[i].last) live[k++] = &items[i];
    qsort(live, (size_t)k, sizeof *live, by_offset);
    size_t best = 0, at = 0;
    for (int i = 0; i < k && at < limit; i++) {
        size_t lo = live[i]->offset < limit ? live[i]->offset : limit;
        if (lo > at && lo - at > best) best = lo - at;
        if (live[i]->offset + live[i]->size > at) at = live[i]->offset + live[i]->size;
    }
    if (limit > at && limit - at > best) best = limit - at;
    free(live);
    return best;
}

void fcn_plan_stats(const fcn_plan_item *items, int n, int first_step, int last_step, size_t *peak_live,
                    size_t *two_largest)
{
    size_t peak = 0, bound = 0;
    for (int s = first_step; s <= last_step; s++) {
        size_t live = 0, a = 0, b = 0;
        for (int i = 0; i < n; i++) {
            if (items[i].first > s || items[i].last < s) continue;
            size_t sz = items[i].size;
            live += sz;
            if (sz > a) {
                b = a;
                a = sz;
            } else if (sz > b) {
                b = sz;
            }
        }
        if (live > peak) peak = live;
        if (a + b > bound) bound = a + b;
    }
    if (peak_live) *peak_live = peak;
    if (two_largest) *two_largest = bound;
}
