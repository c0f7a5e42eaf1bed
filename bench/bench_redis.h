/* Starting the redis-server anchor for the side-by-side benchmarks. */
#ifndef SWIMRING_BENCH_REDIS_H
#define SWIMRING_BENCH_REDIS_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "swimring/testkit.h"
#include "swimring/time.h"

/* Start `bin` (redis-server) on 127.0.0.1:port with persistence off and
 * wait up to 10 s until it accepts. Returns its pid, or -1 (and no process
 * left behind) when it is missing or does not start. */
static inline pid_t bench_redis_start(const char *bin, int port)
{
    char p[16], addr[32];
    snprintf(p, sizeof p, "%d", port);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp(bin, bin, "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--protected-mode", "no", (char *)NULL);
        _exit(127);
    }
    sr_time_us deadline = sr_time_mono_us() + 10 * SR_US_PER_S;
    while (sr_time_mono_us() < deadline && waitpid(pid, NULL, WNOHANG) == 0) {
        int fd = sr_tk_connect(addr);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

#endif
