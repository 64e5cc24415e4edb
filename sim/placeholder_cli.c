/* placeholder until the sim component lands; replaced by its real sources */
#include <stdio.h>
int sim_cli_main(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
