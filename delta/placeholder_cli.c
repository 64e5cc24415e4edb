/* placeholder until the delta component lands; replaced by its real sources */
#include <stdio.h>
int delta_cli_main(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
