/* The node's TLS section and the admin token rule (lib/node/node_tls.c):
 * what sr_node_new and sr_node_start refuse, with messages that name the
 * key or file at fault and never carry a secret. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node.h"
#include "tls_certs.h"

static struct sr_node *try_new(const struct sr_node_config *c, char *msg, size_t len)
{
    int err = 0;
    msg[0] = '\0';
    struct sr_node *n = sr_node_new(NULL, c, &err, msg, len);
    if (!n)
        cr_expect_eq(err, SR_ECONFIG, "err %s: %s", sr_err_name(err), msg);
    return n;
}

Test(node_tls, admin_beyond_loopback_needs_a_token)
{
    static const struct {
        const char *listen;
        bool needs;
    } cases[] = {
        {"0.0.0.0:8081", true},     {":8081", true},           {"[::]:8081", true},
        {"10.1.2.3:8081", true},    {"198.18.0.1:8081", true}, {"127.0.0.1.nip.io:8081", true},
        {"127.0.0.1:8081", false},  {"127.9.9.9:8081", false}, {"[::1]:8081", false},
        {"localhost:8081", false},
    };
    char msg[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sr_node_config c;
        sr_node_config_default(&c);
        snprintf(c.admin.listen, sizeof c.admin.listen, "%s", cases[i].listen);
        struct sr_node *n = try_new(&c, msg, sizeof msg);
        cr_expect_eq(n == NULL, cases[i].needs, "%s: %s", cases[i].listen, msg);
        if (!n)
            cr_expect(strstr(msg, "admin.token") && strstr(msg, cases[i].listen), "%s", msg);
        sr_node_delete(n);
        snprintf(c.admin.token, sizeof c.admin.token, "k8s-secret-123");
        n = try_new(&c, msg, sizeof msg);
        cr_expect_not_null(n, "%s with a token: %s", cases[i].listen, msg);
        sr_node_delete(n);
    }
}

Test(node_tls, enabled_needs_the_three_files_and_exceptions_must_parse)
{
    struct sr_node_config c;
    char msg[512];
    sr_node_config_default(&c);
    c.tls.enabled = true;
    snprintf(c.tls.cert_file, sizeof c.tls.cert_file, "/x/cert.pem");
    snprintf(c.tls.key_file, sizeof c.tls.key_file, "/x/key.pem");
    cr_expect_null(try_new(&c, msg, sizeof msg));
    cr_expect(strstr(msg, "tls.ca_file") != NULL, "%s", msg);
    snprintf(c.tls.ca_file, sizeof c.tls.ca_file, "/x/ca.pem");
    snprintf(c.tls.exceptions, sizeof c.tls.exceptions,
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff expired +2h");
    cr_expect_null(try_new(&c, msg, sizeof msg), "relative times are for the API only");
    cr_expect(strstr(msg, "tls.exceptions: exception 1: until") != NULL, "%s", msg);
    snprintf(c.tls.exceptions, sizeof c.tls.exceptions,
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff expired "
             "2030-01-01T00:00:00Z");
    struct sr_node *n = try_new(&c, msg, sizeof msg);
    cr_expect_not_null(n, "the files are read at start, not here: %s", msg);
    sr_node_delete(n);
}

Test(node_tls, config_errors_do_not_echo_the_token)
{
    struct sr_node_config c;
    char err[512], tok[300];
    sr_node_config_default(&c);
    memset(tok, 'Q', sizeof tok - 1);
    tok[sizeof tok - 1] = '\0';
    memcpy(tok, "hunter2", 7);
    cr_expect_eq(sr_node_config_set(&c, "admin.token", tok, err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "hunter2") == NULL && strstr(err, "QQQQ") == NULL, "%s", err);
}

/* sr_node_start reads the files: a mismatched or garbage key is refused
 * naming the file, and no byte of the key reaches the message. */
Test(node_tls, start_names_the_bad_file_and_never_the_key, .timeout = 60)
{
    struct tls_pki k;
    cr_assert_eq(tls_pki_init(&k), 0);
    cr_assert_eq(tls_pki_ca(&k, "ca"), 0);
    cr_assert_eq(tls_pki_leaf(&k, "ca", "a", "-days 30"), 0);
    cr_assert_eq(tls_pki_leaf(&k, "ca", "b", "-days 30"), 0);
    const char *fake = tls_pki_path(&k, "fake", "key");
    FILE *f = fopen(fake, "w");
    cr_assert_not_null(f);
    fputs("-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL0123456789abcdef\n"
          "-----END PRIVATE KEY-----\n", f);
    fclose(f);
    const char *keys[] = {tls_pki_path(&k, "b", "key"), fake};
    const char *want[] = {"does not match", "tls.key_file"};
    for (int i = 0; i < 2; i++) {
        struct sr_node_config c;
        char msg[512] = "";
        int err = 0;
        sr_node_config_default(&c);
        sr_node_config_profile(&c, "local");
        snprintf(c.node.listen, sizeof c.node.listen, "127.0.0.1:0");
        snprintf(c.node.http, sizeof c.node.http, "127.0.0.1:0");
        c.node.log_level = SR_NODE_LOG_ERROR;
        c.tls.enabled = true;
        snprintf(c.tls.cert_file, sizeof c.tls.cert_file, "%s", tls_pki_path(&k, "a", "pem"));
        snprintf(c.tls.key_file, sizeof c.tls.key_file, "%s", keys[i]);
        snprintf(c.tls.ca_file, sizeof c.tls.ca_file, "%s", tls_pki_path(&k, "ca", "pem"));
        struct sr_node *n = sr_node_new(NULL, &c, &err, msg, sizeof msg);
        cr_assert_not_null(n, "%s", msg);
        cr_expect_eq(sr_node_start(n, msg, sizeof msg), SR_ECONFIG);
        cr_expect(strstr(msg, want[i]) && strstr(msg, keys[i]), "%s", msg);
        cr_expect(strstr(msg, "TOPSECRET") == NULL && strstr(msg, "BEGIN") == NULL, "%s", msg);
        sr_node_delete(n);
    }
    tls_pki_destroy(&k);
}
