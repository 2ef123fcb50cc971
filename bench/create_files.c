/* create_files.c - the file system's part of writing a grouped file: N files of SIZE bytes in one
 * fresh directory, the way the local store writes them (create under a temporary name, one write,
 * close; one syncfs; rename each to its name). No Parquet, no parsing: an anchor for the least
 * time any converter needs to create that many outputs here.
 *
 *   create_files DIR N SIZE    prints "create S syncfs S rename S total S" (wall seconds)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s DIR N SIZE\n", argv[0]); return 2; }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    size_t size = strtoul(argv[3], NULL, 10);
    char *buf = malloc(size ? size : 1), tmp[4096], name[4096];
    for (size_t i = 0; i < size; i++) buf[i] = (char)((i * 2654435761u) >> 13);
    if (mkdir(dir, 0755) != 0) { perror(dir); return 1; }
    double t0 = now();
    for (int i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, "%s/DERIBIT:OPTIONS:X-%d.parquet.tmp-0123456789abcdef", dir, i);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, size) != (ssize_t)size) { perror(tmp); return 1; }
        close(fd);
    }
    double t1 = now();
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    if (d < 0 || syncfs(d) != 0) { perror("syncfs"); return 1; }
    close(d);
    double t2 = now();
    for (int i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, "%s/DERIBIT:OPTIONS:X-%d.parquet.tmp-0123456789abcdef", dir, i);
        snprintf(name, sizeof name, "%s/DERIBIT:OPTIONS:X-%d.parquet", dir, i);
        if (rename(tmp, name) != 0) { perror(name); return 1; }
    }
    double t3 = now();
    printf("create %.3f syncfs %.3f rename %.3f total %.3f\n", t1 - t0, t2 - t1, t3 - t2, t3 - t0);
    return 0;
}
