#include "cli/cli.h"
#include "cli/commands.h"

int cmd_dataset(int argc, char **argv) {
    (void)argc;
    return cli_fail("%s: not implemented yet", argv[0]);
}
