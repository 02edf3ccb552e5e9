/*
 * cmd/main.c — the `ignis` command: dispatches to one subcommand per file.
 *
 * The table below is the whole command-line surface.  `ignis help CMD` is
 * `ignis CMD --help`.  A subcommand whose file is not linked into this
 * build (weak symbol left NULL) is reported as unavailable instead of
 * failing at link time, so the tree builds while a subcommand is being
 * written.  Errors read like every command's: "ignis: xyz: unknown command
 * (ignis --help)".
 */
#include "cmd/cmd.h"
#include "ignis/common.h"

#include <stdio.h>
#include <string.h>

#include "utils/mapguard.h"

#pragma weak cmd_record
#pragma weak cmd_view
#pragma weak cmd_top
#pragma weak cmd_flame
#pragma weak cmd_report
#pragma weak cmd_convert
#pragma weak cmd_collect
#pragma weak cmd_agent

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"record", cmd_record, "profile a running process (-p PID), a command (-- CMD) or all (-a)"},
    {"report", cmd_report, "print the top functions of a profile, like pprof -top"},
    {"flame", cmd_flame, "write an interactive SVG flame graph of a profile"},
    {"convert", cmd_convert, "convert between pprof, folded stacks and perf script"},
    {"view", cmd_view, "explore a profile in the terminal (flame graph, top, callers)"},
    {"top", cmd_top, "live view of a running process's hottest functions"},
    {"agent", cmd_agent, "profile every process continuously: one profile per interval (record -a --every)"},
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
    fprintf(out, "\nRun 'ignis help COMMAND' (or 'ignis COMMAND --help') for a command's options.\n"
                 "Formats: pprof (.pb.gz), folded stacks (.folded), perf script text (read),\n"
                 "each gzipped or not; SVG flame graphs (.svg, write).\n");
}

static const struct command *command_named(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

static int run(const struct command *c, int argc, char **argv)
{
    if (!c->run) {
        fprintf(stderr, "ignis: %s: not available in this build\n", c->name);
        return 2;
    }
    return c->run(argc, argv);
}

/* `ignis help [CMD]`. */
static int help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return 0;
    }
    const struct command *c = command_named(argv[2]);
    if (!c) {
        fprintf(stderr, "ignis: %s: unknown command (ignis --help)\n", argv[2]);
        return 2;
    }
    char *args[] = {argv[2], "--help", NULL};
    return run(c, 2, args);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* a file we map (a target's library, an input profile) may shrink
     * under us: its vanished pages read as zeros instead of SIGBUS */
    ig_mapguard_install();
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        return usage(stdout), 0;
    if (!strcmp(name, "help"))
        return help(argc, argv);
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("ignis %s\n", ignis_version());
        return 0;
    }
    const struct command *c = command_named(name);
    if (c)
        return run(c, argc - 1, argv + 1);
    fprintf(stderr, "ignis: %s: unknown %s (ignis --help)\n", name, name[0] == '-' ? "option" : "command");
    return 2;
}
