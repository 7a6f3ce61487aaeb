/* Reference for scripts/benchmark-ldap.sh: raw search-then-bind logins with libldap, as fast as the
 * directory allows. Each thread keeps one service connection for searches and opens a new connection
 * per user bind (what Causeway's LDAP provider does).
 *   ldap_search_bind URL BASE READER_DN READER_PW USER USER_PW THREADS SECONDS   → prints logins/s */
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url, *base, *reader, *reader_pw, *user, *user_pw;
static int seconds;
static volatile long total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static LDAP *open_bound(const char *dn, const char *pw) {
    LDAP *ld = NULL;
    int version = LDAP_VERSION3;
    struct berval cred;
    if (ldap_initialize(&ld, url) != LDAP_SUCCESS) return NULL;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    cred.bv_val = (char *)pw;
    cred.bv_len = strlen(pw);
    if (ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) != LDAP_SUCCESS) { ldap_unbind_ext_s(ld, NULL, NULL); return NULL; }
    return ld;
}

static void *worker(void *arg) {
    (void)arg;
    char filter[256];
    char *attrs[] = { "entryUUID", "mail", "cn", "departmentNumber", "memberOf", NULL };
    long n = 0;
    time_t end = time(NULL) + seconds;
    LDAP *service = open_bound(reader, reader_pw);
    if (!service) { fprintf(stderr, "service bind failed\n"); exit(1); }
    snprintf(filter, sizeof filter, "(&(objectClass=inetOrgPerson)(uid=%s))", user);
    while (time(NULL) < end) {
        LDAPMessage *res = NULL;
        if (ldap_search_ext_s(service, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, NULL, 2, &res) != LDAP_SUCCESS) { fprintf(stderr, "search failed\n"); exit(1); }
        LDAPMessage *entry = ldap_first_entry(service, res);
        char *dn = ldap_get_dn(service, entry);
        LDAP *u = open_bound(dn, user_pw);
        if (!u) { fprintf(stderr, "user bind failed\n"); exit(1); }
        ldap_unbind_ext_s(u, NULL, NULL);
        ldap_memfree(dn);
        ldap_msgfree(res);
        n++;
    }
    ldap_unbind_ext_s(service, NULL, NULL);
    pthread_mutex_lock(&lock);
    total += n;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 9) { fprintf(stderr, "usage: %s URL BASE READER_DN READER_PW USER USER_PW THREADS SECONDS\n", argv[0]); return 2; }
    url = argv[1]; base = argv[2]; reader = argv[3]; reader_pw = argv[4]; user = argv[5]; user_pw = argv[6];
    int threads = atoi(argv[7]);
    seconds = atoi(argv[8]);
    pthread_t t[256];
    for (int i = 0; i < threads && i < 256; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads && i < 256; i++) pthread_join(t[i], NULL);
    printf("%.0f\n", (double)total / seconds);
    return 0;
}
