/* placeholder until the fleet component lands; replaced by its real sources */
#include <stdio.h>
int fleet_cli_push(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int fleet_cli_rollout(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
