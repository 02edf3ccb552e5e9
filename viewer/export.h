/*
 * viewer/export.h — sending the view to an OTLP collector
 * (viewer/export.c; writing it to a file is ig_viewer_export in model.h).
 */
#ifndef IG_VIEWER_EXPORT_H
#define IG_VIEWER_EXPORT_H

#include "viewer/model.h"

/* Sends what is on screen (zoom and filters applied, as ig_viewer_export
 * writes it) as OTLP profiles to the endpoint OTEL_EXPORTER_OTLP_* and
 * OTEL_EXPORTER_OTLP_PROFILES_* configure; says where it went, or why
 * not, in the message line.  0 or -1. */
int ig_viewer_send(ig_viewer *v);

#endif
