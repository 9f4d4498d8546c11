/* json_guard.c — cJSON parses recursively, so every reader of untrusted JSON (TF.js model.json,
 * safetensors headers) first bounds the nesting depth with this linear scan. */
#include "common/fc_common.h"

int fc_json_depth_ok(const char *s, size_t n, uint32_t max_depth)
{
    uint32_t depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return 0;
        } else if (c == ']' || c == '}') {
            if (depth) depth--;
        }
    }
    return 1;
}
