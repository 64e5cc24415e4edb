/*
 * main.c — the `openfota` program: git-style subcommands dispatched to the
 * component libraries (see commands.h).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef OPENFOTA_VERSION
#define OPENFOTA_VERSION "0.0.0"
#endif

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", server_cli_serve, "run the update server (device checks, downloads, admin API)"},
    {"backup", server_cli_backup, "copy the data folder of a running server (consistent snapshot)"},
    {"status", admin_cli_status, "show the running server's status"},
    {"project", admin_cli_project, "add, list, show, change and remove projects"},
    {"firmware", admin_cli_firmware, "add, list and remove firmware names of a project"},
    {"package", admin_cli_package, "upload, list, show, remove, sign and verify packages"},
    {"device", admin_cli_device, "list devices, show history, forbid, allow, unban"},
    {"file", admin_cli_file, "static files for '###' URLs: put, list, remove"},
    {"token", admin_cli_token, "named admin tokens with roles: add, list, revoke"},
    {"audit", admin_cli_audit, "the audit log: who changed what, and refused logins"},
    {"push", fleet_cli_push, "send the update command to connected or sleeping devices"},
    {"rollout", fleet_cli_rollout, "staged rollouts: start, promote, pause, resume, cancel, status"},
    {"luat", pkg_cli_luat, "inspect and check a LuatOS upgrade .bin"},
    {"delta", delta_cli_main, "make and apply delta patches between firmware images"},
    {"sim", sim_cli_main, "simulate a fleet of devices against a server"},
    {"db", db_cli_main, "copy the database from SQLite into PostgreSQL"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "openfota %s — self-hosted firmware-over-the-air updates\n\n"
            "usage: openfota <command> [options]\n"
            "       openfota <command> --help\n\n"
            "commands:\n",
            OPENFOTA_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nThe admin commands find the server and token in --url/--token,\n"
            "then OPENFOTA_URL/OPENFOTA_TOKEN, then the data folder (--data, default ./var).\n"
            "Start here: openfota serve   (prints the URLs, the admin token and next steps)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("openfota %s\n", OPENFOTA_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "openfota: unknown command '%s'. Run 'openfota --help' for the list.\n", argv[1]);
    return 2;
}
