/* limits.c — caps applied to hostile input (docs/LIMITS.md). The CLI may raise them for
 * trusted files; everything else reads fc_limits_current. */
#include "common/fc_common.h"

fc_limits fc_limits_current = {
    .max_file_bytes = 4ull << 30,
    .max_tensor_bytes = 4ull << 30,
    .max_inflated_bytes = 8ull << 30,
    .max_zip_entries = 100000,
    .max_zip_ratio = 1000,
    .max_tensors = 1000000,
    .max_nodes = 1000000,
    .max_nesting = 100,
    .max_pickle_memo = 1000000,
    .max_string_bytes = 64ull << 20,
    .max_arena_bytes = 8ull << 30,
};
