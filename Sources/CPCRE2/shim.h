// PCRE2 (Debian: libpcre2-dev), 8-bit code units (UTF-8 subjects and patterns).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// Macros that do not import into Swift.
static inline uint32_t causeway_pcre2_utf(void) { return PCRE2_UTF; }
static inline uint32_t causeway_pcre2_ucp(void) { return PCRE2_UCP; }
static inline uint32_t causeway_pcre2_caseless(void) { return PCRE2_CASELESS; }
static inline uint32_t causeway_pcre2_multiline(void) { return PCRE2_MULTILINE; }
static inline uint32_t causeway_pcre2_extended(void) { return PCRE2_EXTENDED; }
static inline uint32_t causeway_pcre2_dotall(void) { return PCRE2_DOTALL; }
static inline uint32_t causeway_pcre2_no_utf_check(void) { return PCRE2_NO_UTF_CHECK; }
static inline int causeway_pcre2_error_nomatch(void) { return PCRE2_ERROR_NOMATCH; }
static inline int causeway_pcre2_error_matchlimit(void) { return PCRE2_ERROR_MATCHLIMIT; }
static inline int causeway_pcre2_error_depthlimit(void) { return PCRE2_ERROR_DEPTHLIMIT; }
static inline int causeway_pcre2_error_heaplimit(void) { return PCRE2_ERROR_HEAPLIMIT; }
