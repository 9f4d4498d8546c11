/* fuzz_fcn.c — the .fcn reader and session creation at the stored shapes: every header field,
 * section, offset, id and shape comes from the input (runtime/model.c, runtime/session.c).
 *
 * Almost every mutation breaks a CRC, which the reader checks first; so that the fuzzer gets
 * past them into the structure, the harness recomputes the header, section-table and section
 * CRCs of a copy (where they lie inside the input) unless the input's last byte is 0xC3
 * (then the CRC checks themselves are fuzzed). */
#include "runtime/fcn.h"
#include "fuzz/fuzz_util.h"

static void fix_crcs(uint8_t *d, size_t size)
{
    if (size < sizeof(fcn_header)) return;
    fcn_header h;
    memcpy(&h, d, sizeof h);
    if (h.section_table_offset <= size && h.section_count <= 64 &&
        (uint64_t)h.section_count * sizeof(fcn_section) <= size - h.section_table_offset) {
        uint8_t *table = d + h.section_table_offset;
        for (uint32_t i = 0; i < h.section_count; i++) {
            fcn_section s;
            memcpy(&s, table + i * sizeof s, sizeof s);
            if (s.offset <= size && s.size <= size - s.offset) {
                s.crc32 = fc_crc32(d + s.offset, (size_t)s.size);
                memcpy(table + i * sizeof s, &s, sizeof s);
            }
        }
        h.section_table_crc = fc_crc32(table, h.section_count * sizeof(fcn_section));
    }
    memcpy(d, &h, sizeof h);
    h.header_crc = fc_crc32(d, offsetof(fcn_header, header_crc));
    memcpy(d, &h, sizeof h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    if (!(size && data[size - 1] == 0xC3)) fix_crcs(copy, size);
    fc_error err = {0};
    fcn_model *m = NULL;
    if (fcn_model_open_memory(copy, size, "fuzz.fcn", 1, &m, &err) == 0) {
        fcn_session_options opt = {.threads = 1};
        fcn_session *s = NULL;
        if (fcn_session_create(m, &opt, &s, &err) == 0) fcn_session_destroy(s);
        fcn_model_close(m);
    }
    free(copy);
    return 0;
}
