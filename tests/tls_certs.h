/* Test certificates made with the openssl command line into a temporary
 * directory: CAs, leaf certificates they sign (valid, expired, SHA-1
 * signed), bundles. Header-only, for the unit and integration suites and
 * bench/. Every leaf carries serverAuth + clientAuth and IP:127.0.0.1, as a
 * node's certificate must (it both accepts and dials).
 *
 *   struct tls_pki k;
 *   tls_pki_init(&k);                                   // mkdtemp
 *   tls_pki_ca(&k, "ca");                               // ca.pem, ca.key
 *   tls_pki_leaf(&k, "ca", "node", "-days 30");         // node.pem, node.key
 *   tls_pki_leaf(&k, "ca", "old", TLS_PKI_EXPIRED);
 *   tls_pki_path(&k, "node", "pem")                     // ".../node.pem"
 *   tls_pki_destroy(&k);                                // rm -r */
#ifndef SR_TESTS_TLS_CERTS_H
#define SR_TESTS_TLS_CERTS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Validity in the past: notAfter is years ago, so "expired" whatever the
 * machine's clock says (after 2021). */
#define TLS_PKI_EXPIRED "-startdate 20200101000000Z -enddate 20210101000000Z"

struct tls_pki {
    char dir[128];
    char path[8][320]; /* rotating buffers for tls_pki_path */
    int next;
};

/* Run a shell command built from fmt in the pki directory, output to
 * openssl.log there. 0 on success. */
static inline int tls_pki_sh(struct tls_pki *k, const char *fmt, ...)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "cd %s && (", k->dir);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    snprintf(cmd + n, sizeof cmd - (size_t)n, ") >>openssl.log 2>&1");
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "tls_pki: failed (%d): %s (see %s/openssl.log)\n", rc, cmd, k->dir);
    return rc == 0 ? 0 : -1;
}

static inline int tls_pki_init(struct tls_pki *k)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->dir, sizeof k->dir, "/tmp/sr-tls-XXXXXX");
    return mkdtemp(k->dir) ? 0 : -1;
}

static inline const char *tls_pki_path(struct tls_pki *k, const char *name, const char *ext)
{
    /* Built aside first: `name` may itself be an earlier answer (a slot
     * of k->path), and snprintf's source must not overlap its target. */
    char tmp[sizeof k->path[0]];
    snprintf(tmp, sizeof tmp, "%s/%s.%s", k->dir, name, ext);
    char *p = k->path[k->next++ % 8];
    memcpy(p, tmp, sizeof tmp);
    return p;
}

/* A self-signed CA: NAME.pem, NAME.key and the `openssl ca` state NAME.cnf. */
static inline int tls_pki_ca(struct tls_pki *k, const char *name)
{
    char cnf[320];
    snprintf(cnf, sizeof cnf, "%s/%s.cnf", k->dir, name);
    FILE *f = fopen(cnf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[ca]\ndefault_ca = tca\n"
            "[tca]\ndatabase = %s/%s.index\nnew_certs_dir = %s\nserial = %s/%s.serial\n"
            "default_md = sha256\npolicy = pol\nunique_subject = no\ncopy_extensions = none\n"
            "[pol]\ncommonName = supplied\n"
            "[leaf]\nbasicConstraints = critical,CA:FALSE\n"
            "keyUsage = critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = IP:127.0.0.1\n",
            k->dir, name, k->dir, k->dir, name);
    fclose(f);
    return tls_pki_sh(k,
                      ": > %s.index && echo 1000 > %s.serial && "
                      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                      "-keyout %s.key -out %s.pem -days 3650 -subj /CN=%s "
                      "-addext basicConstraints=critical,CA:TRUE "
                      "-addext keyUsage=critical,keyCertSign,cRLSign",
                      name, name, name, name, name);
}

/* A leaf NAME.pem / NAME.key signed by CA `ca`; `opts` go to `openssl ca`
 * ("-days 30", TLS_PKI_EXPIRED, "-days 30 -md sha1"). A second call with
 * the same name renews it: new key, new serial, same files. */
static inline int tls_pki_leaf(struct tls_pki *k, const char *ca, const char *name,
                               const char *opts)
{
    int rc = tls_pki_sh(k,
                        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                        "-keyout %s.key.new -out %s.csr -subj /CN=%s && "
                        "openssl ca -batch -notext -config %s.cnf -cert %s.pem -keyfile %s.key "
                        "-extensions leaf -in %s.csr -out %s.pem.new %s && "
                        "chmod 600 %s.key.new && mv %s.key.new %s.key && mv %s.pem.new %s.pem",
                        name, name, name, ca, ca, ca, name, name, opts, name, name, name, name,
                        name);
    return rc;
}

/* Concatenate PEM files into NAME.pem ("both" = ca + other). */
static inline int tls_pki_bundle(struct tls_pki *k, const char *name, const char *a,
                                 const char *b)
{
    return tls_pki_sh(k, "cat %s.pem %s.pem > %s.pem", a, b, name);
}

/* Copy NAME.pem/.key to TO.pem/.key (a node's "live" files that a test
 * overwrites to simulate a renewal). */
static inline int tls_pki_copy(struct tls_pki *k, const char *name, const char *to)
{
    return tls_pki_sh(k, "cp %s.pem %s.pem.tmp && cp %s.key %s.key.tmp && chmod 600 %s.key.tmp && "
                         "mv %s.key.tmp %s.key && mv %s.pem.tmp %s.pem",
                      name, to, name, to, to, to, to, to, to);
}

static inline void tls_pki_destroy(struct tls_pki *k)
{
    if (k->dir[0] && strncmp(k->dir, "/tmp/sr-tls-", 12) == 0) {
        char cmd[192];
        snprintf(cmd, sizeof cmd, "rm -rf %s", k->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "tls_pki: could not remove %s\n", k->dir);
    }
    k->dir[0] = '\0';
}

#endif
