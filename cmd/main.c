/*
 * cmd/main.c — the `ignis` command: dispatches to one subcommand per file.
 *
 * The table below is the whole command-line surface.  A subcommand whose
 * file is not linked into this build (weak symbol left NULL) is reported as
 * unavailable instead of failing at link time, so the tree builds while a
 * subcommand is being written.
 */
#include "cmd/cmd.h"
#include "ignis/common.h"

#include <stdio.h>
#include <string.h>

#pragma weak cmd_record
#pragma weak cmd_view
#pragma weak cmd_top
#pragma weak cmd_flame
#pragma weak cmd_report
#pragma weak cmd_convert
#pragma weak cmd_collect

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"record", cmd_record, "profile a running process (-p PID) or a command (-- CMD)"},
    {"report", cmd_report, "print the top functions of a profile, like pprof -top"},
    {"flame", cmd_flame, "write an interactive SVG flame graph of a profile"},
    {"convert", cmd_convert, "convert between pprof, folded stacks and perf script"},
    {"view", cmd_view, "explore a profile in the terminal (flame graph, top, callers)"},
    {"top", cmd_top, "live view of a running process's hottest functions"},
    {"collect", cmd_collect, "receive OpenTelemetry traces (OTLP/HTTP) into a local trace store"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: ignis COMMAND [options]\n\n"
                 "ignis records, converts and shows CPU and allocation profiles, and collects\n"
                 "OpenTelemetry traces.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'ignis COMMAND --help' for a command's options.\n"
                 "Formats: pprof (.pb.gz), folded stacks (.folded), perf script text (read),\n"
                 "SVG flame graphs (.svg, write).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("ignis %s\n", ignis_version());
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(name, commands[i].name))
            continue;
        if (!commands[i].run) {
            fprintf(stderr, "ignis: '%s' is not available in this build\n", name);
            return 2;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "ignis: unknown command '%s' (see 'ignis --help')\n", name);
    return 2;
}
