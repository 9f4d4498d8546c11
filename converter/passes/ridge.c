/* ridge.c — closed-form ridge regression for the GAP-fit head:
 *   B = (AᵀA + λ·D)⁻¹ AᵀY,  A = [X 1],  D = diag(1,…,1,0) (the bias is not penalized),
 * solved with a Cholesky factorization L·Lᵀ of the (C+1)×(C+1) matrix, all in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "converter/passes/rewrites.h"

int fcv_ridge_init(fcv_ridge_stats *s, int64_t c, int64_t k, fc_error *err)
{
    memset(s, 0, sizeof *s);
    if (c < 1 || k < 1 || c > 65536 || k > 1000000)
        return fc_fail(err, FC_EINPUT, "ridge fit: %lld features, %lld targets out of range", (long long)c,
                       (long long)k);
    size_t d = (size_t)c + 1;
    s->gram = calloc(d * d, sizeof(double));
    s->xty = calloc(d * (size_t)k, sizeof(double));
    if (!s->gram || !s->xty) {
        fcv_ridge_free(s);
        return fc_fail(err, FC_ENOMEM, "ridge fit: out of memory for a %zu×%zu Gram matrix", d, d);
    }
    s->c = c;
    s->k = k;
    return 0;
}

void fcv_ridge_add(fcv_ridge_stats *s, const double *x, const double *y)
{
    size_t d = (size_t)s->c + 1, K = (size_t)s->k;
    for (size_t i = 0; i < d; i++) {
        double ai = i < (size_t)s->c ? x[i] : 1.0;
        double *row = s->gram + i * d;
        for (size_t j = 0; j <= i; j++) row[j] += ai * (j < (size_t)s->c ? x[j] : 1.0);
        double *xr = s->xty + i * K;
        for (size_t k = 0; k < K; k++) xr[k] += ai * y[k];
    }
    s->n++;
}

double fcv_ridge_feature_trace(const fcv_ridge_stats *s)
{
    size_t d = (size_t)s->c + 1;
    double t = 0;
    for (size_t i = 0; i < (size_t)s->c; i++) t += s->gram[i * d + i];
    return t;
}

int fcv_ridge_solve(const fcv_ridge_stats *s, double lambda, double **out, fc_error *err)
{
    size_t d = (size_t)s->c + 1, K = (size_t)s->k;
    double *L = malloc(d * d * sizeof(double)), *B = malloc(d * K * sizeof(double));
    if (!L || !B) {
        free(L); free(B);
        return fc_fail(err, FC_ENOMEM, "ridge fit: out of memory");
    }
    /* lower triangle of A + λD (gram is accumulated in its lower triangle) */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) L[i * d + j] = s->gram[i * d + j] + (i == j && i < (size_t)s->c ? lambda : 0.0);
    for (size_t j = 0; j < d; j++) {
        double diag = L[j * d + j];
        for (size_t k = 0; k < j; k++) diag -= L[j * d + k] * L[j * d + k];
        if (!(diag > 1e-12 * (fabs(L[j * d + j]) + 1e-300)) || !isfinite(diag)) {
            free(L); free(B);
            return fc_fail(err, FC_EINPUT,
                           "ridge fit: the Gram matrix of %lld calibration features is singular (Cholesky pivot %zu "
                           "is %.3g with lambda %.3g): the features are constant or linearly dependent",
                           (long long)s->n, j, diag, lambda);
        }
        double ljj = sqrt(diag);
        L[j * d + j] = ljj;
        for (size_t i = j + 1; i < d; i++) {
            double v = L[i * d + j];
            for (size_t k = 0; k < j; k++) v -= L[i * d + k] * L[j * d + k];
            L[i * d + j] = v / ljj;
        }
    }
    /* L·Z = AᵀY, then Lᵀ·B = Z, column by column */
    memcpy(B, s->xty, d * K * sizeof(double));
    for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < d; i++) {
            double v = B[i * K + k];
            for (size_t j = 0; j < i; j++) v -= L[i * d + j] * B[j * K + k];
            B[i * K + k] = v / L[i * d + i];
        }
        for (size_t ii = d; ii-- > 0;) {
            double v = B[ii * K + k];
            for (size_t j = ii + 1; j < d; j++) v -= L[j * d + ii] * B[j * K + k];
            B[ii * K + k] = v / L[ii * d + ii];
        }
    }
    free(L);
    *out = B;
    return 0;
}

void fcv_ridge_free(fcv_ridge_stats *s)
{
    free(s->gram);
    free(s->xty);
    memset(s, 0, sizeof *s);
}
