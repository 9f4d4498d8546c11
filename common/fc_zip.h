/* fc_zip.h — read-only, hardened zip access (libzip) for .pt archives and .npz files.
 *
 * Every entry is validated when the archive is opened, before anything is read:
 * no encryption, only stored/deflate, no duplicate names, no "..", absolute or backslash
 * paths, entry count <= fc_limits_current.max_zip_entries, declared sizes within
 * max_tensor_bytes per entry and max_inflated_bytes in total, and an inflated/compressed
 * ratio <= max_zip_ratio for entries big enough to matter (zip bombs). Entries are read
 * into memory one at a time (never extracted to disk) and the inflated size must equal the
 * declared size (libzip also checks the CRC). */
#ifndef FC_ZIP_H
#define FC_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include "common/fc_common.h"

typedef struct fc_zip fc_zip;

/* Opens path (name used in messages). */
int fc_zip_open(const char *path, fc_zip **out, fc_error *err);
/* Opens an archive held in memory; buf must outlive the fc_zip. `name` is used in messages. */
int fc_zip_open_memory(const void *buf, size_t size, const char *name, fc_zip **out, fc_error *err);
void fc_zip_close(fc_zip *z);

int fc_zip_count(const fc_zip *z);
const char *fc_zip_name(const fc_zip *z, int idx);       /* NULL when out of range */
uint64_t fc_zip_entry_size(const fc_zip *z, int idx);     /* declared inflated size */
int fc_zip_find(const fc_zip *z, const char *name);       /* exact match; -1 if absent */
/* Reads entry idx whole into a malloc'd buffer (NUL-terminated one byte past *size so text
 * entries can be used as C strings). Caller frees *buf. */
int fc_zip_read(fc_zip *z, int idx, uint8_t **buf, size_t *size, fc_error *err);

/* 1 if the first bytes look like a zip local header or an empty archive ("PK\3\4" / "PK\5\6"). */
int fc_zip_sniff(const void *head, size_t n);

#endif
