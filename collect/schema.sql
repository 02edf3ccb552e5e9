-- collect/schema.sql — the trace store, schema version 1.
-- Compiled into collect/store.c (as a C string) and documented, table by
-- table, in docs/TRACE_STORE.md.  Ids (trace_id, span_id) are raw bytes;
-- times are nanoseconds since the Unix epoch; attributes are JSON objects.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY
) WITHOUT ROWID;

CREATE TABLE resources (
  id                 INTEGER PRIMARY KEY,
  digest             INTEGER NOT NULL UNIQUE,
  service            TEXT NOT NULL,
  attributes         TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL DEFAULT 0,
  schema_url         TEXT NOT NULL DEFAULT ''
);

CREATE TABLE scopes (
  id                 INTEGER PRIMARY KEY,
  digest             INTEGER NOT NULL UNIQUE,
  name               TEXT NOT NULL,
  version            TEXT NOT NULL DEFAULT '',
  attributes         TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL DEFAULT 0,
  schema_url         TEXT NOT NULL DEFAULT ''
);

CREATE TABLE operations (
  id      INTEGER PRIMARY KEY,
  service TEXT NOT NULL,
  name    TEXT NOT NULL,
  UNIQUE (service, name)
);

CREATE TABLE traces (
  id           INTEGER PRIMARY KEY,
  trace_id     BLOB NOT NULL UNIQUE,
  received_ns  INTEGER NOT NULL,
  start_ns     INTEGER NOT NULL,
  end_ns       INTEGER NOT NULL,
  root_service TEXT NOT NULL,
  root_name    TEXT NOT NULL,
  has_root     INTEGER NOT NULL,
  span_count   INTEGER NOT NULL,
  error_count  INTEGER NOT NULL
);
CREATE INDEX traces_start ON traces (start_ns);

CREATE TABLE spans (
  id                 INTEGER PRIMARY KEY,
  trace              INTEGER NOT NULL,
  span_id            BLOB NOT NULL,
  parent_span_id     BLOB,
  operation          INTEGER NOT NULL,
  resource           INTEGER NOT NULL,
  scope              INTEGER NOT NULL,
  kind               INTEGER NOT NULL,
  start_ns           INTEGER NOT NULL,
  end_ns             INTEGER NOT NULL,
  status_code        INTEGER NOT NULL,
  status_message     TEXT,
  flags              INTEGER NOT NULL DEFAULT 0,
  trace_state        TEXT,
  attributes         TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL DEFAULT 0,
  dropped_events     INTEGER NOT NULL DEFAULT 0,
  dropped_links      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX spans_trace ON spans (trace, operation, start_ns, end_ns, status_code);

CREATE TABLE events (
  id                 INTEGER PRIMARY KEY,
  span               INTEGER NOT NULL,
  time_ns            INTEGER NOT NULL,
  name               TEXT NOT NULL,
  attributes         TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_span ON events (span);

CREATE TABLE links (
  id                 INTEGER PRIMARY KEY,
  span               INTEGER NOT NULL,
  trace_id           BLOB NOT NULL,
  span_id            BLOB NOT NULL,
  trace_state        TEXT,
  flags              INTEGER NOT NULL DEFAULT 0,
  attributes         TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX links_span ON links (span);

-- Every attribute as one row (computed on read, nothing is stored twice).
CREATE VIEW attributes (owner, owner_id, key, type, value) AS
  SELECT 'span', s.id, j.key, j.type, j.value FROM spans s, json_each(s.attributes) j
  UNION ALL
  SELECT 'resource', r.id, j.key, j.type, j.value FROM resources r, json_each(r.attributes) j
  UNION ALL
  SELECT 'scope', c.id, j.key, j.type, j.value FROM scopes c, json_each(c.attributes) j
  UNION ALL
  SELECT 'event', e.id, j.key, j.type, j.value FROM events e, json_each(e.attributes) j
  UNION ALL
  SELECT 'link', l.id, j.key, j.type, j.value FROM links l, json_each(l.attributes) j;

-- Spans with readable ids, names and durations.
CREATE VIEW span_view AS
  SELECT s.id, lower(hex(t.trace_id)) AS trace_id, lower(hex(s.span_id)) AS span_id,
         lower(hex(s.parent_span_id)) AS parent_span_id, o.service, o.name, s.kind,
         s.start_ns, s.end_ns, (s.end_ns - s.start_ns) / 1e6 AS duration_ms,
         s.status_code, s.status_message, s.attributes
  FROM spans s JOIN traces t ON t.id = s.trace JOIN operations o ON o.id = s.operation;

-- Traces with readable ids, times and durations.
CREATE VIEW trace_view AS
  SELECT id, lower(hex(trace_id)) AS trace_id,
         strftime('%Y-%m-%d %H:%M:%f', start_ns / 1e9, 'unixepoch') AS start_utc,
         (end_ns - start_ns) / 1e6 AS duration_ms, root_service, root_name, has_root,
         span_count, error_count
  FROM traces;
