/* cmd_inspect.c — `fullconv inspect MODEL [--json]`: per node the op, output shape, parameters,
 * multiply-accumulates and weight bytes (as the runtime infers them at the model's input
 * shape), totals, and for a .fcn the META summary (producer, source, passes with their
 * verified errors). Other formats are shown as imported, before any rewrite. */
#include "cli/commands.h"
#include "converter/arch.h"
#include "converter/cmd_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char inspect_usage[] =
    "usage: fullconv inspect MODEL [--json] [--input-shape NxCxHxW] [--arch NAME]\n"
    "\n"
    "Lists every node of a model (.fcn or any importable file, shown as imported): op, output\n"
    "shape, parameters, MACs and weight bytes at the model's input shape, with totals; for a .fcn\n"
    "also its metadata (producer, source, passes applied with their verified errors).\n"
    "A weights-only file (.pt state_dict, safetensors, .npz) whose architecture is not given and\n"
    "cannot be guessed is listed as its tensors: name, dtype (as loaded), shape, bytes.\n"
    "\n"
    "  --json                   the same as JSON on stdout\n"
    "  --input-shape NxCxHxW    inspect at this input shape (models with free dimensions)\n"
    "  --arch NAME              architecture of a weights-only file (as for convert)\n"
    "  -h, --help               this help\n";

static cJSON *shape_array(const fcn_shape *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; a && d < s->ndim; d++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s->dims[d]));
    return a;
}

static void print_meta_summary(const cJSON *meta)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(meta, "producer");
    if (cJSON_IsString(p)) printf("producer: %s\n", p->valuestring);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(meta, "source");
    if (cJSON_IsObject(src)) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(src, "file");
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(src, "format");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(src, "producer");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(src, "sha256");
        printf("source: %s%s%s%s%s%s%.16s\n", cJSON_IsString(f) ? f->valuestring : "?",
               cJSON_IsString(fmt) ? " (" : "", cJSON_IsString(fmt) ? fmt->valuestring : "",
               cJSON_IsString(fmt) ? ")" : "", cJSON_IsString(pr) ? ", from " : "",
               cJSON_IsString(pr) ? pr->valuestring : "", cJSON_IsString(sha) ? "" : "");
        if (cJSON_IsString(sha)) printf("source sha256: %s\n", sha->valuestring);
    }
    const cJSON *passes = cJSON_GetObjectItemCaseSensitive(meta, "passes");
    const cJSON *it;
    if (cJSON_IsArray(passes) && cJSON_GetArraySize(passes) > 0) {
        printf("passes:\n");
        cJSON_ArrayForEach(it, passes) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "pass");
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "rewrites");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "verify");
            printf("  %-18s", cJSON_IsString(name) ? name->valuestring : "?");
            if (cJSON_IsNumber(n)) printf(" rewrites=%d", n->valueint);
            if (cJSON_IsObject(v)) {
                const cJSON *ra = cJSON_GetObjectItemCaseSensitive(v, "max_abs_err");
                const cJSON *rr = cJSON_GetObjectItemCaseSensitive(v, "max_rel_err");
                const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(v, "top1_agreement");
                if (cJSON_IsNumber(ra)) printf(" max_abs_err=%.3g", ra->valuedouble);
                if (cJSON_IsNumber(rr)) printf(" max_rel_err=%.3g", rr->valuedouble);
                if (cJSON_IsNumber(t1)) printf(" top1=%.1f%%", 100.0 * t1->valuedouble);
            }
            printf("\n");
        }
    }
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
    if (cJSON_IsArray(labels)) printf("labels: %d\n", cJSON_GetArraySize(labels));
}

/* A weights-only file without a graph (no --arch, nothing guessable): list its tensors, the way
 * they were read (numeric tensors are converted to f32 when loaded). Returns -1 when the file
 * cannot be read as weights either; the import error then stands. */
static int list_weights(const char *model, const fc_error *why, int json)
{
    const char *ext = strrchr(model, '.');
    fcv_weights w;
    memset(&w, 0, sizeof w);
    fc_error e2 = { 0 };
    int rc;
    if (ext && !strcmp(ext, ".safetensors")) rc = fcv_read_safetensors(model, &w, &e2);
    else if (ext && !strcmp(ext, ".npz")) rc = fcv_read_npz_weights(model, &w, &e2);
    else if (ext && (!strcmp(ext, ".pt") || !strcmp(ext, ".pth") || !strcmp(ext, ".bin"))) rc = fcv_read_torch_weights(model, &w, &e2);
    else rc = -1;
    if (rc) {
        fcv_weights_free(&w);
        return -1;
    }
    uint64_t total_bytes = 0, total_params = 0;
    cJSON *root = json ? cJSON_CreateObject() : NULL, *arr = NULL;
    if (json) {
        cJSON_AddStringToObject(root, "file", model);
        cJSON_AddNullToObject(root, "graph");
        cJSON_AddStringToObject(root, "reason", why->msg);
        arr = cJSON_AddArrayToObject(root, "tensors");
    } else {
        printf("%s: no graph (%s)\n%d tensors:\n", model, why->msg, w.count);
        printf("%-48s %-6s %-20s %12s\n", "tensor", "dtype", "shape", "bytes");
    }
    for (int i = 0; i < w.count; i++) {
        const fc_array *a = &w.arrays[i];
        char dims[96];
        fc_format_dims(a->ndim, a->dims, dims, sizeof dims);
        size_t numel = 0;
        fc_numel(a->ndim, a->dims, &numel);
        total_params += numel;
        total_bytes += a->nbytes;
        if (json) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", w.names[i]);
            cJSON_AddStringToObject(t, "dtype", fc_dtype_name(a->dtype));
            cJSON *shape = cJSON_AddArrayToObject(t, "shape");
            for (int d = 0; d < a->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)a->dims[d]));
            cJSON_AddNumberToObject(t, "bytes", (double)a->nbytes);
            cJSON_AddItemToArray(arr, t);
        } else {
            printf("%-48s %-6s %-20s %12zu\n", w.names[i], fc_dtype_name(a->dtype), dims, a->nbytes);
        }
    }
    if (json) {
        cJSON_AddNumberToObject(root, "params", (double)total_params);
        cJSON_AddNumberToObject(root, "bytes", (double)total_bytes);
        char *text = cJSON_Print(root);
        if (text) puts(text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("total: %llu params, %llu bytes (convert needs --arch NAME)\n", (unsigned long long)total_params,
               (unsigned long long)total_bytes);
    }
    fcv_weights_free(&w);
    return 0;
}

int fcv_cmd_inspect(int argc, char **argv)
{
    const char *cmd = "inspect", *model = NULL;
    int json = 0;
    fcv_import_options iopt;
    memset(&iopt, 0, sizeof iopt);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(inspect_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if ((r = fcv_cli_import_opt(argc, argv, &i, cmd, &iopt))) {
            if (r < 0) return 2;
            continue;
        }
        if (a[0] == '-' && a[1]) return fcv_cli_usage_error(cmd, "unknown option '%s' (see fullconv inspect --help)", a);
        if (model) return fcv_cli_usage_error(cmd, "more than one model ('%s' and '%s')", model, a);
        model = a;
    }
    if (!model) return fcv_cli_usage_error(cmd, "no model (usage: fullconv inspect MODEL [--json])");

    fc_error err = {0};
    fcv_loaded lm;
    if (fcv_load_model(model, &iopt, 0, &lm, &err)) {
        if (!iopt.arch && list_weights(model, &err, json) == 0) return 0;
        return fcv_cli_fail(&err);
    }
    int is_fcn = lm.graph == NULL;
    fcn_session *s = NULL;
    fcn_session_options so = {0};
    so.threads = 1;
    fcn_shape shapes[1];
    if (iopt.n_input_dims && is_fcn) {
        if (fcn_model_num_inputs(lm.model) != 1) {
            fc_fail(&err, FC_EINPUT, "%s: --input-shape needs a model with one input", model);
            fcv_loaded_free(&lm);
            return fcv_cli_fail(&err);
        }
        shapes[0].ndim = iopt.n_input_dims;
        memcpy(shapes[0].dims, iopt.input_dims, sizeof iopt.input_dims);
        so.n_input_shapes = 1;
        so.input_shapes = shapes;
    }
    if (fcn_session_create(lm.model, &so, &s, &err)) {
        fc_wrap(&err, "%s", model);
        fcv_loaded_free(&lm);
        return fcv_cli_fail(&err);
    }
    size_t meta_len;
    const char *meta_text = fcn_model_metadata(lm.model, &meta_len);
    cJSON *meta = (is_fcn && meta_text) ? cJSON_ParseWithLength(meta_text, meta_len) : NULL;

    fcn_prepack_hdr pp;
    uint64_t pp_bytes;
    int has_pp = fcn_model_prepack_info(lm.model, &pp, &pp_bytes);
    int n = fcn_session_num_nodes(s);
    uint64_t tot_params = 0, tot_macs = 0, tot_bytes = 0;
    cJSON *root = json ? cJSON_CreateObject() : NULL, *nodes = NULL;
    if (json) {
        cJSON_AddStringToObject(root, "model", model);
        cJSON_AddStringToObject(root, "format", is_fcn ? "fcn" : (lm.graph->source_format ? lm.graph->source_format : "?"));
        nodes = cJSON_AddArrayToObject(root, "nodes");
    } else {
        if (meta) print_meta_summary(meta);
        printf("%-36s %-18s %-20s %12s %14s %12s\n", "node", "op", "output shape", "params", "MACs", "bytes");
    }
    for (int i = 0; i < n; i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        tot_params += info.params;
        tot_macs += info.macs;
        tot_bytes += info.weight_bytes;
        char dims[128];
        fc_format_dims(info.out_shape.ndim, info.out_shape.dims, dims, sizeof dims);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "node", info.name ? info.name : "");
            cJSON_AddStringToObject(o, "op", info.op ? info.op : "?");
            cJSON_AddItemToObject(o, "output_shape", shape_array(&info.out_shape));
            cJSON_AddNumberToObject(o, "params", (double)info.params);
            cJSON_AddNumberToObject(o, "macs", (double)info.macs);
            cJSON_AddNumberToObject(o, "bytes", (double)info.weight_bytes);
            cJSON_AddItemToArray(nodes, o);
        } else {
            printf("%-36.36s %-18.18s %-20.20s %12llu %14llu %12llu\n", info.name ? info.name : "", info.op ? info.op : "?",
                   dims, (unsigned long long)info.params, (unsigned long long)info.macs,
                   (unsigned long long)info.weight_bytes);
        }
    }
    if (json) {
        cJSON *t = cJSON_AddObjectToObject(root, "totals");
        cJSON_AddNumberToObject(t, "nodes", n);
        cJSON_AddNumberToObject(t, "params", (double)tot_params);
        cJSON_AddNumberToObject(t, "macs", (double)tot_macs);
        cJSON_AddNumberToObject(t, "bytes", (double)tot_bytes);
        cJSON_AddNumberToObject(t, "file_bytes", (double)fcn_model_file_size(lm.model));
        if (has_pp) {
            cJSON *p = cJSON_AddObjectToObject(root, "prepacked");
            cJSON_AddNumberToObject(p, "layers", pp.count);
            cJSON_AddNumberToObject(p, "bytes", (double)pp_bytes);
            cJSON_AddStringToObject(p, "isa", pp.isa == 2 ? "avx512" : pp.isa == 1 ? "avx2" : "unknown");
            cJSON_AddNumberToObject(p, "mr", pp.mr);
            cJSON_AddNumberToObject(p, "layout", pp.layout);
            cJSON_AddNumberToObject(p, "used_bytes", (double)fcn_session_prepacked_used(s));
        }
        if (meta) cJSON_AddItemToObject(root, "meta", meta);
        meta = NULL;
        char *text = cJSON_Print(root);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("%-36s %-18s %-20s %12llu %14llu %12llu\n", "total", "", "", (unsigned long long)tot_params,
               (unsigned long long)tot_macs, (unsigned long long)tot_bytes);
        printf("%d nodes, %llu params, %llu MACs, %llu weight bytes, file %llu bytes%s\n", n,
               (unsigned long long)tot_params, (unsigned long long)tot_macs, (unsigned long long)tot_bytes,
               (unsigned long long)fcn_model_file_size(lm.model), is_fcn ? "" : " (as .fcn, unconverted)");
        if (has_pp)
            printf("prepacked: %u layers, %llu bytes for %s (micro-kernel rows %u, layout %u); here %llu bytes used "
                   "in place%s\n", pp.count, (unsigned long long)pp_bytes,
                   pp.isa == 2 ? "AVX-512" : pp.isa == 1 ? "AVX2+FMA" : "an unknown ISA", pp.mr, pp.layout,
                   (unsigned long long)fcn_session_prepacked_used(s),
                   fcn_session_prepacked_used(s) ? "" : " (other kernels here: packed at load instead)");
    }
    cJSON_Delete(meta);
    fcn_session_destroy(s);
    fcv_loaded_free(&lm);
    return 0;
}
