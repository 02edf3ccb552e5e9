/*
 * tests/collect/nul_request.c — writes to stdout one OTLP/protobuf
 * ExportTraceServiceRequest whose strings hold a NUL, the protobuf twin of
 * the OTLP/JSON request of t_nul.sh: service.name "svc", resource
 * attributes "service.name<NUL>x" = "evil" and "r<NUL>k" = "r<NUL>v", scope
 * "sc<NUL>ope", one span of trace 1 with id SEED named NAME (each '~' of
 * NAME a NUL), status message "m<NUL>x", attribute "k<NUL>ey" = "a<NUL>b",
 * event "e<NUL>v".  Built with protobuf-c (tests/collect/helpers.h), whose
 * strings are C strings: each string is packed with '~' and turned into
 * a NUL in the packed bytes (h_nul), which keeps every length.
 *
 *   usage: nul_request NAME SEED > body.pb
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/collect/helpers.h"

#define T0 1700000000000000000ULL

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: nul_request NAME SEED\n");
        return 2;
    }
    PbSpan *s = h_span(1, strtoull(argv[2], NULL, 10), 0, argv[1], T0, T0 + 500);
    h_attrs(s, 1, h_str("k~ey", "a~b"));
    h_status(s, 2, "m~x");
    h_event(s, "e~v", T0 + 1, NULL);
    PbRequest *r = h_request("svc", &s, 1);
    PbResource *res = r->resource_spans[0]->resource;
    res->n_attributes = 3;
    res->attributes = h_alloc(3 * sizeof *res->attributes);
    res->attributes[0] = h_str("service.name", "svc");
    res->attributes[1] = h_str("service.name~x", "evil");
    res->attributes[2] = h_str("r~k", "r~v");
    r->resource_spans[0]->scope_spans[0]->scope->name = (char *)"sc~ope";
    size_t len;
    uint8_t *body = h_pack(r, &len);
    const char *markers[] = {argv[1], "k~ey", "a~b", "m~x", "e~v", "service.name~x", "r~k", "r~v", "sc~ope"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
        h_nul(body, len, markers[i]);
    int rc = fwrite(body, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
    h_reset();
    return rc;
}
