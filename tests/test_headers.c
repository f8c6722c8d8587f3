/* Every public header compiles on its own: CMake generates one translation unit per header of include/ and
 * include/a2m/ holding only that header, twice (its include guard), built into this test with -pedantic and
 * without the project's _POSIX_C_SOURCE/_DEFAULT_SOURCE, as a library user's program includes it (a build
 * failure is the failure). At run time the test checks that the list compiled (A2M_HEADERS_ALONE) is every
 * header in $A2M_SOURCE/include and include/a2m, so none is left unchecked. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#ifndef A2M_HEADERS_ALONE
#error "A2M_HEADERS_ALONE (the headers compiled alone, ','-separated) comes from CMakeLists.txt"
#endif

/* 1 when name ("a2m/model.h") is in the ','-separated list */
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Checks every .h of $A2M_SOURCE/include/<sub> against the list; returns how many there are. */
static int check_folder(const char *src, const char *sub, const char *list) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/include%s%s", src, *sub ? "/" : "", sub);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "%s: cannot open", dir);
    int seen = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".h")) continue;
        char rel[512];
        snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        seen++;
        CHECK(in_list(list, rel), "%s/%s was not compiled alone (re-run cmake)", dir, e->d_name);
    }
    if (d) closedir(d);
    return seen;
}

int main(void) {
    const char *list = A2M_HEADERS_ALONE;
    CHECK(in_list(list, "a2m/model.h") && in_list(list, "a2m/error.h") && !in_list(list, "a2m/model"),
          "list parsed: %s", list);
    const char *src = getenv("A2M_SOURCE");
    if (!src) {
        fprintf(stderr, "A2M_SOURCE not set (CTest sets it): skipped\n");
        return 77;
    }
    int seen = check_folder(src, "", list) + check_folder(src, "a2m", list);
    CHECK(seen >= 17, "%d public headers", seen);
    printf("%d public headers compile alone\n", seen);
    return test_done("test_headers");
}
