/*
 * cmd/convert.c — `ignis convert IN -o OUT [--format F] [--from F]`.
 *
 * Reads any readable format (pprof, OTLP profiles in protobuf or JSON,
 * folded, perf script; detected from the contents unless --from says; IN
 * may be an http(s) URL, fetched as `go tool pprof` does) and writes any
 * writable one (pprof, OTLP profiles, folded, svg; chosen by OUT's
 * extension unless --format says, pprof by default).
 * --value picks the sample value for single-value outputs (folded, svg).
 * The output goes through a temporary file, so a failure leaves nothing.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: ignis convert IN -o OUT [--format F] [--from F] [--value V]\n\n"
                 "Converts a profile between formats.  IN may be a file, '-' or an http(s)://\n"
                 "URL (e.g. http://host:6060/debug/pprof/profile?seconds=30).\n\n"
                 "  -o, --output OUT  output file ('-' = standard output)\n"
                 "  -f, --format F    output format: pprof, otlp, otlp-json, folded, svg (default:\n"
                 "                    by OUT's extension: .pb.gz .pprof -> pprof, .otlp.pb -> otlp\n"
                 "                    (OTLP profiles request), .otlp.json -> otlp-json, .folded\n"
                 "                    .txt -> folded, .svg -> svg; otherwise pprof)\n"
                 "      --from F      input format: pprof, otlp, otlp-json, folded, perf-script\n"
                 "                    (default: detected)\n"
                 "      --value V     sample value for folded/svg output (name, type/unit or index)\n"
                 "  -h, --help        this help\n");
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"format", required_argument, 0, 'f'},
        {"from", required_argument, 0, 'F'},   {"value", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *out = NULL, *to = NULL, *from = NULL, *value = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': to = optarg; break;
        case 'F': from = optarg; break;
        case 'v': value = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out) {
        cmd_error("convert", optind >= argc ? "missing input file" : !out ? "missing -o OUT" : "too many arguments");
        usage(stderr);
        return 2;
    }
    ignis_profile *p = cmd_load_profile("convert", argv[optind], from);
    if (!p)
        return 1;
    ig_write_opts wo = {.tree = {.value = -1}, .minwidth = -1};
    int rc = 1;
    if ((wo.tree.value = cmd_resolve_value("convert", p, value)) >= 0 || !ignis_profile_num_values(p)) {
        ig_err err;
        if (ig_profile_save(p, out, to, &wo, &err))
            cmd_error("convert", "%s", err.msg);
        else
            rc = 0;
    }
    ignis_profile_free(p);
    return rc;
}
