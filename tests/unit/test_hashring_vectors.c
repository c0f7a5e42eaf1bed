/* The ring against real ringpop: tests/vectors/ringpop-placement-1000.tsv
 * lists 1,000 keys with the key hash, owner and lookupN(key, 3) that
 * ringpop computes for members 127.0.0.1:3000..3099 with 100 points each,
 * and the ring checksum in its header. Also runs `ringctl lookup --offline`
 * on the same members and compares its output line by line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "swimring/hashring.h"

#define VECTORS SR_VECTORS_DIR "/ringpop-placement-1000.tsv"
#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"

static struct sr_ring *ringpop_ring(void)
{
    struct sr_ring *ring = sr_ring_new(NULL, NULL);
    cr_assert_not_null(ring);
    struct sr_ring_change c[100];
    char addr[100][32];
    for (int i = 0; i < 100; i++) {
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", 3000 + i);
        c[i] = (struct sr_ring_change){.op = SR_RING_ADD, .address = addr[i]};
    }
    cr_assert_eq(sr_ring_apply(ring, c, 100), 100);
    return ring;
}

/* Splits a vectors line into its four tab-separated fields in place. */
static int split(char *line, char **f)
{
    line[strcspn(line, "\r\n")] = '\0';
    int n = 0;
    for (char *s = line; n < 4; n++) {
        f[n] = s;
        char *t = strchr(s, '\t');
        if (t == NULL) {
            n++;
            break;
        }
        *t = '\0';
        s = t + 1;
    }
    return n;
}

Test(hashring_vectors, checksum_matches_ringpop)
{
    struct sr_ring *ring = ringpop_ring();
    FILE *f = fopen(VECTORS, "r");
    cr_assert_not_null(f);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    const char *p = strstr(line, "ringChecksum=");
    cr_assert_not_null(p);
    unsigned long want = strtoul(p + strlen("ringChecksum="), NULL, 10);
    cr_assert_eq(want, 1905934758ul);
    cr_expect_eq(sr_ring_checksum(ring), (uint32_t)want);
    sr_ring_delete(ring);
}

Test(hashring_vectors, every_key_owner_hash_and_lookup_n3)
{
    struct sr_ring *ring = ringpop_ring();
    FILE *f = fopen(VECTORS, "r");
    cr_assert_not_null(f);
    char line[1024];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *fld[4];
        cr_assert_eq(split(line, fld), 4, "bad vectors line");
        size_t klen = strlen(fld[0]);
        cr_expect_eq(sr_ring_hash(fld[0], klen), strtoul(fld[2], NULL, 10),
                     "hash of %s", fld[0]);
        cr_expect_str_eq(sr_ring_lookup(ring, fld[0], klen), fld[1],
                         "owner of %s", fld[0]);
        const char *rep[3];
        cr_assert_eq(sr_ring_lookup_n(ring, fld[0], klen, rep, 3), 3);
        char joined[128];
        snprintf(joined, sizeof joined, "%s,%s,%s", rep[0], rep[1], rep[2]);
        cr_expect_str_eq(joined, fld[3], "lookup_n(%s, 3)", fld[0]);
        cr_expect(sr_ring_owns(ring, fld[1], fld[0], klen));
        checked++;
    }
    fclose(f);
    cr_expect_eq(checked, 1000);
    sr_ring_delete(ring);
}

static void write_members(const char *path)
{
    FILE *m = fopen(path, "w");
    cr_assert_not_null(m);
    /* Reverse order with a comment and a blank line: order must not matter. */
    fprintf(m, "# ringpop test ring\n\n");
    for (int i = 99; i >= 0; i--)
        fprintf(m, "127.0.0.1:%d\n", 3000 + i);
    fclose(m);
}

Test(hashring_vectors, ringctl_lookup_offline_matches)
{
    char members[] = "/tmp/sr_ringctl_membersXXXXXX";
    int fd = mkstemp(members);
    cr_assert_geq(fd, 0);
    write_members(members);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "grep -v '^#' '%s' | cut -f1 | '%s' lookup --offline --members '%s' -n 3",
             VECTORS, RINGCTL, members);
    FILE *out = popen(cmd, "r");
    cr_assert_not_null(out);
    FILE *vec = fopen(VECTORS, "r");
    cr_assert_not_null(vec);
    char want[1024], got[1024];
    int lines = 0;
    while (fgets(want, sizeof want, vec)) {
        if (want[0] == '#')
            continue;
        char *fld[4];
        cr_assert_eq(split(want, fld), 4);
        char expect[sizeof want + 4];
        snprintf(expect, sizeof expect, "%s\t%s\t%s\n", fld[0], fld[1], fld[3]);
        cr_assert_not_null(fgets(got, sizeof got, out), "ringctl stopped early");
        cr_expect_str_eq(got, expect);
        lines++;
    }
    cr_expect_null(fgets(got, sizeof got, out), "ringctl printed extra lines");
    fclose(vec);
    int status = pclose(out);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_expect_eq(lines, 1000);

    /* Keys as arguments, owner only. */
    snprintf(cmd, sizeof cmd, "'%s' lookup --offline --members '%s' key-0 key-1",
             RINGCTL, members);
    out = popen(cmd, "r");
    cr_assert_not_null(out);
    cr_assert_not_null(fgets(got, sizeof got, out));
    cr_expect_str_eq(got, "key-0\t127.0.0.1:3004\n");
    cr_assert_not_null(fgets(got, sizeof got, out));
    cr_expect_str_eq(got, "key-1\t127.0.0.1:3066\n");
    cr_expect_eq(pclose(out), 0);
    unlink(members);
}

static int exit_code(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1 </dev/null", RINGCTL, args);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(hashring_vectors, ringctl_exit_codes)
{
    cr_expect_eq(exit_code(""), 2);
    cr_expect_eq(exit_code("nosuchcommand"), 2);
    cr_expect_eq(exit_code("help"), 0);
    cr_expect_eq(exit_code("lookup --members /dev/null"), 2, "--members needs --offline");
    cr_expect_eq(exit_code("lookup --node 127.0.0.1:1 k"), 3, "node unreachable");
    cr_expect_eq(exit_code("lookup --offline"), 2, "--members required");
    cr_expect_eq(exit_code("lookup --offline --members x -n 0"), 2);
    cr_expect_eq(exit_code("lookup --offline --members x --points abc"), 2);
    cr_expect_eq(exit_code("lookup --offline --bogus"), 2);
    cr_expect_eq(exit_code("lookup --offline --members /nonexistent k"), 1);
    cr_expect_eq(exit_code("lookup --offline --members /dev/null k"), 1,
                 "no members");
}
