// OpenLDAP's libldap for Swift. The macros that do not import under Swift 6 (LDAP_OPT_ON/OFF,
// LDAP_SASL_SIMPLE) and the control plumbing of a bind or a paged search are wrapped here as small
// inline functions, so the Swift side deals only with plain values.
#ifndef CAUSEWAY_LDAP_SHIM_H
#define CAUSEWAY_LDAP_SHIM_H

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <lber.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static inline int causeway_ldap_referrals_off(LDAP *ld) {
    return ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
}

static inline int causeway_ldap_set_int(LDAP *ld, int option, int value) {
    return ldap_set_option(ld, option, &value);
}

static inline int causeway_ldap_set_string(LDAP *ld, int option, const char *value) {
    return ldap_set_option(ld, option, value);
}

static inline int causeway_ldap_set_timeout(LDAP *ld, int option, int milliseconds) {
    struct timeval tv;
    tv.tv_sec = milliseconds / 1000;
    tv.tv_usec = (milliseconds % 1000) * 1000;
    return ldap_set_option(ld, option, &tv);
}

/// Simple bind that asks for the password-policy response control and waits at most `timeout_ms`.
/// Returns the LDAP result code. `*diagnostic` receives the server's message (free with ldap_memfree);
/// `*policy_error` the LDAPPasswordPolicyError, or -1 when the server sent none.
static inline int causeway_ldap_simple_bind(LDAP *ld, const char *dn, const char *password, size_t password_length,
                                            int timeout_ms, char **diagnostic, int *policy_error) {
    struct berval credentials;
    LDAPControl *policy_request = NULL;
    LDAPControl *server_controls[2] = { NULL, NULL };
    LDAPMessage *result = NULL;
    LDAPControl **response_controls = NULL;
    char *matched = NULL;
    struct timeval tv;
    int message_id = 0, rc, code = LDAP_OTHER;

    *diagnostic = NULL;
    *policy_error = -1;
    credentials.bv_val = (char *)password;
    credentials.bv_len = password_length;
    if (ldap_create_passwordpolicy_control(ld, &policy_request) == LDAP_SUCCESS) server_controls[0] = policy_request;
    rc = ldap_sasl_bind(ld, dn, LDAP_SASL_SIMPLE, &credentials, server_controls, NULL, &message_id);
    if (policy_request) ldap_control_free(policy_request);
    if (rc != LDAP_SUCCESS) return rc;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    rc = ldap_result(ld, message_id, LDAP_MSG_ALL, &tv, &result);
    if (rc == 0) {
        ldap_abandon_ext(ld, message_id, NULL, NULL);
        return LDAP_TIMEOUT;
    }
    if (rc < 0) {
        int error = LDAP_SERVER_DOWN;
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &error);
        return error;
    }
    rc = ldap_parse_result(ld, result, &code, &matched, diagnostic, NULL, &response_controls, 1);
    if (matched) ldap_memfree(matched);
    if (rc != LDAP_SUCCESS) {
        if (response_controls) ldap_controls_free(response_controls);
        return rc;
    }
    if (response_controls) {
        LDAPControl *control = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, response_controls, NULL);
        if (control) {
            ber_int_t expire = -1, grace = -1;
            LDAPPasswordPolicyError error = PP_noError;
            if (ldap_parse_passwordpolicy_control(ld, control, &expire, &grace, &error) == LDAP_SUCCESS && error != PP_noError) {
                *policy_error = (int)error;
            }
        }
        ldap_controls_free(response_controls);
    }
    return code;
}

/// One page of a search (RFC 2696 paged results when `page_size` > 0). `cookie` carries the server's
/// cookie between pages: empty (bv_len 0) on the first call and after the last page. The entries are in
/// `*result` (free with ldap_msgfree), also when the result code is an error such as a size limit.
static inline int causeway_ldap_search_page(LDAP *ld, const char *base, int scope, const char *filter, char **attributes,
                                            int timeout_ms, int size_limit, int page_size, struct berval *cookie,
                                            LDAPMessage **result) {
    LDAPControl *page_control = NULL;
    LDAPControl *server_controls[2] = { NULL, NULL };
    LDAPControl **response_controls = NULL;
    struct timeval tv;
    int rc, code = LDAP_SUCCESS;
    struct berval next = { 0, NULL };

    *result = NULL;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    if (page_size > 0) {
        rc = ldap_create_page_control(ld, (ber_int_t)page_size, cookie->bv_len > 0 ? cookie : NULL, 0, &page_control);
        if (rc != LDAP_SUCCESS) return rc;
        server_controls[0] = page_control;
    }
    rc = ldap_search_ext_s(ld, base, scope, filter, attributes, 0, server_controls, NULL, &tv, size_limit, result);
    if (page_control) ldap_control_free(page_control);
    if (cookie->bv_val) { ber_memfree(cookie->bv_val); cookie->bv_val = NULL; }
    cookie->bv_len = 0;
    if (*result == NULL) return rc;
    if (ldap_parse_result(ld, *result, &code, NULL, NULL, NULL, &response_controls, 0) != LDAP_SUCCESS) return rc;
    if (response_controls) {
        LDAPControl *control = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, response_controls, NULL);
        if (control) {
            ber_int_t estimate = 0;
            if (ldap_parse_pageresponse_control(ld, control, &estimate, &next) == LDAP_SUCCESS && next.bv_len > 0) {
                *cookie = next;
            } else if (next.bv_val) {
                ber_memfree(next.bv_val);
            }
        }
        ldap_controls_free(response_controls);
    }
    return code;
}

static inline void causeway_ldap_free_cookie(struct berval *cookie) {
    if (cookie->bv_val) ber_memfree(cookie->bv_val);
    cookie->bv_val = NULL;
    cookie->bv_len = 0;
}

#endif
