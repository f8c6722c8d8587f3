/* Shipped models by name: one lookup for --model and every member of --ensemble. */
#include "cli/models.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/io.h"

static const char *shipped_file(const char *name) {
    if (!strcmp(name, "anypitch")) return "a2m-anypitch.safetensors";
    if (!strcmp(name, "anypitch-b")) return "a2m-anypitch-b.safetensors"; /* its second draw, for --ensemble */
    if (!strcmp(name, "seed")) return "a2m-crnn.safetensors";
    return NULL;
}

const char *cli_model_path(const char *arg, char *buf, size_t n) {
    const char *env = getenv("A2M_MODEL");
    if (!arg && env && *env) return env;
    if (arg && a2m_path_exists(arg)) return arg; /* a file of that name wins over a shipped name */
    const char *file = shipped_file(arg ? arg : "anypitch");
    if (!file) return arg;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *dir = dirname(exe);
        const char *rel[] = {"%s/../share/a2m/models/%s", "%s/../models/%s", "%s/models/%s"};
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
            snprintf(buf, n, rel[i], dir, file);
            if (a2m_path_exists(buf)) return buf;
        }
    }
    snprintf(buf, n, "models/%s", file);
    return buf;
}
