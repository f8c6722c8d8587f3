#include "cli/cli.h"
#include "cli/commands.h"

int cmd_plot(int argc, char **argv) {
    (void)argc;
    return cli_fail("%s: not implemented yet", argv[0]);
}
