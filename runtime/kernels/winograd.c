/* winograd.c — planning for winograd_avx2.c (portable: sizes and the packed U matrices). */
#include <stdlib.h>
#include "runtime/kernels/winograd.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

int fcn_winograd_plan(fcn_wino_plan *p, const float *w, int64_t C, int64_t H, int64_t W,
                      int64_t K, int64_t Ho, int64_t Wo, int64_t ph, int64_t pw)
{
    p->C = C; p->H = H; p->W = W; p->K = K; p->Ho = Ho; p->Wo = Wo; p->ph = ph; p->pw = pw;
    p->tiles_y = (Ho + 3) / 4;
    p->tiles_x = (Wo + 3) / 4;
    p->T = p->tiles_y * p->tiles_x;
    p->Hp = 4 * p->tiles_y + 2;
    p->Wp = 4 * ((p->tiles_x + 7) / 8 * 8) + 2;
    p->pad_floats = round16((size_t)(C * p->Hp * p->Wp));
    p->v_floats = round16((size_t)(36 * C * p->T) + 16);
    p->m_floats = round16((size_t)(36 * K * p->T) + 16);
    p->scratch_floats = p->pad_floats + p->v_floats + p->m_floats;
    p->ukernel = fcn_best_ukernel(&p->mr);
    p->u_floats = fcn_pack_a_mr_floats(K, C, p->mr);
    float *u = malloc(sizeof(float) * (size_t)(36 * K * C));
    p->u_packed = aligned_alloc(64, (sizeof(float) * 36 * p->u_floats + 63) & ~(size_t)63);
    if (!u || !p->u_packed) {
        free(u);
        free(p->u_packed);
        p->u_packed = NULL;
        return -1;
    }
    fcn_winograd_weights(w, K, C, u);
    for (int xi = 0; xi < 36; xi++)
        fcn_pack_a_mr(u + (size_t)xi * (size_t)(K * C), C, 1, K, C, p->mr, p->u_packed + (size_t)xi * p->u_floats);
    free(u);
    return 0;
}
