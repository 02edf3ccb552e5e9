#!/usr/bin/env python3
"""tests/otlp/profiles_collector.py — a fake OTLP profiles collector and the
independent decoders the OTLP profiles tests check ignis against.

Nothing here shares code or schema with ignis: the protobuf wire format is
read by the small reader below, and the field numbers of the OTLP profiles
request (opentelemetry/proto/profiles/v1development, the layout with
ProfilesDictionary.stack_table and Sample.stack_index) and of pprof's
profile.proto are written out again from the published .proto files, only
those the tests look at.

  serve --port-file F --out F [--max-body N] [--script S,S,...]
      Listens on 127.0.0.1 (a port the kernel picks, written to F), answers
      POST /v1development/profiles and writes one JSON line per POST to --out
      (status, headers, body size and, when accepted, the decoded request).
      Scripted answers come first, one per POST: "413", "429:1" (with
      Retry-After: 1), "400:some message" (a google.rpc.Status body), "503".
      Then a body over --max-body bytes gets 413; any other path 404.
  compare --pprof P --requests F [--links N] [--resource K=V ...]
          [--mapping-attr K ...]
      Decodes the pprof file P and every accepted request in F, merges the
      requests' samples, and checks that both hold the same samples (stack
      of function names, labels, value per sample type).  --links: at least
      N samples carry a Link; --resource: resource attributes expected;
      --mapping-attr: an attribute every mapping with a file name must have;
      --check-htlhash: recompute process.executable.build_id.htlhash of
      every mapped file that has one (first and last 4096 bytes and the
      big-endian length, SHA-256, 16 bytes).
      Exit 0 when they match, 1 with the differences.
"""
import argparse
import gzip
import hashlib
import http.server
import json
import os
import sys
import threading

# ---- protobuf wire format --------------------------------------------------


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def fields(b):
    """(number, value) for every field: ints for varint/fixed, bytes for LEN."""
    i, out = 0, []
    while i < len(b):
        tag, i = varint(b, i)
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wire == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        elif wire == 2:
            n, i = varint(b, i)
            v, i = bytes(b[i:i + n]), i + n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, v))
    return out


def msg(b):
    d = {}
    for num, v in fields(b):
        d.setdefault(num, []).append(v)
    return d


def one(d, num, default=0):
    return d[num][-1] if num in d else default


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def ints(d, num):
    """A repeated integer field, packed or not."""
    out = []
    for v in d.get(num, []):
        if isinstance(v, bytes):
            i = 0
            while i < len(v):
                x, i = varint(v, i)
                out.append(signed(x))
        else:
            out.append(signed(v))
    return out


def text(v):
    return v.decode("utf-8", "replace")

# ---- OTLP profiles request (field numbers from profiles.proto) ---------------
# ExportProfilesServiceRequest: resource_profiles 1, dictionary 2
# ProfilesDictionary: mapping_table 1, location_table 2, function_table 3,
#   link_table 4, string_table 5, attribute_table 6, stack_table 7
# ResourceProfiles: resource 1, scope_profiles 2; Resource: attributes 1
# ScopeProfiles: scope 1, profiles 2; InstrumentationScope: name 1, attributes 3
# Profile: sample_type 1, samples 2, time_unix_nano 3, duration_nano 4,
#   period_type 5, period 6, attribute_indices 11
# ValueType: type_strindex 1, unit_strindex 2
# Sample: stack_index 1, attribute_indices 2, link_index 3, values 4,
#   timestamps_unix_nano 5
# Mapping: memory_start 1, memory_limit 2, file_offset 3,
#   filename_strindex 4, attribute_indices 5
# Stack: location_indices 1
# Location: mapping_index 1, address 2, lines 3, attribute_indices 4
# Line: function_index 1, line 2, column 3
# Function: name_strindex 1, system_name_strindex 2, filename_strindex 3
# Link: trace_id 1, span_id 2
# KeyValueAndUnit: key_strindex 1, value 2, unit_strindex 3
# KeyValue: key 1, value 2
# AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7


def any_value(b):
    d = msg(b)
    if 1 in d:
        return text(d[1][-1])
    if 2 in d:
        return bool(d[2][-1])
    if 3 in d:
        return signed(d[3][-1])
    if 5 in d:
        return [any_value(v) for v in msg(d[5][-1]).get(1, [])]
    return None


def key_values(bs):
    out = {}
    for kv in bs:
        d = msg(kv)
        out[text(one(d, 1, b""))] = any_value(one(d, 2, b""))
    return out


def decode_otlp(body):
    req = msg(body)
    dic = msg(one(req, 2, b""))
    strings = [text(s) for s in dic.get(5, [])]
    functions = [msg(f) for f in dic.get(3, [])]
    locations = [msg(l) for l in dic.get(2, [])]
    mappings = [msg(m) for m in dic.get(1, [])]
    stacks = [ints(msg(s), 1) for s in dic.get(7, [])]
    links = [msg(l) for l in dic.get(4, [])]
    attrs = []
    for a in dic.get(6, []):
        d = msg(a)
        attrs.append((strings[one(d, 1)], any_value(one(d, 2, b"")), strings[one(d, 3)]))
    for t, name in ((strings, "string"), (functions, "function"), (locations, "location"),
                    (mappings, "mapping"), (stacks, "stack"), (links, "link"), (attrs, "attribute")):
        if not t:
            raise ValueError("empty %s table" % name)
    if strings[0] != "" or stacks[0] or attrs[0] != ("", None, ""):
        raise ValueError("a table does not start with its zero value")

    def frames(stack):
        names = []
        for li in stacks[stack]:
            loc = locations[li]
            for line in loc.get(3, []):
                names.append(strings[one(functions[one(msg(line), 1)], 1)])
        return tuple(names)

    out = {"resources": [], "samples": [], "mappings": [], "links": 0}
    for m in mappings[1:]:
        out["mappings"].append({"file": strings[one(m, 4)],
                                "attrs": {attrs[i][0]: attrs[i][1] for i in ints(m, 5)}})
    for rp in req.get(1, []):
        rpd = msg(rp)
        res = key_values(msg(one(rpd, 1, b"")).get(1, []))
        out["resources"].append(res)
        for sp in rpd.get(2, []):
            for prof in msg(sp).get(2, []):
                pd = msg(prof)
                st = msg(one(pd, 1, b""))
                vtype = "%s/%s" % (strings[one(st, 1)], strings[one(st, 2)])
                for s in pd.get(2, []):
                    sd = msg(s)
                    labels = {}
                    for i in ints(sd, 2):
                        k, v, unit = attrs[i]
                        k = {"thread.id": "tid", "thread.name": "thread"}.get(k, k)
                        labels[k] = str(v)
                    li = one(sd, 3)
                    if li:
                        ld = links[li]
                        labels["trace_id"] = one(ld, 1, b"").hex()
                        labels["span_id"] = one(ld, 2, b"").hex()
                        out["links"] += 1
                    out["samples"].append({"type": vtype, "stack": frames(one(sd, 1)),
                                           "labels": labels, "value": sum(ints(sd, 4))})
    return out


def from_json(j):
    """OTLP/JSON back to the protobuf the decoder above reads (only the
    fields it reads; names in lowerCamelCase)."""
    out = bytearray()

    def put_varint(b, v):
        v &= (1 << 64) - 1
        while True:
            c = v & 0x7F
            v >>= 7
            b.append(c | (0x80 if v else 0))
            if not v:
                return

    def put(b, num, v):
        if isinstance(v, (bytes, bytearray)):
            put_varint(b, num << 3 | 2)
            put_varint(b, len(v))
            b.extend(v)
        else:
            put_varint(b, num << 3)
            put_varint(b, int(v))

    def anyv(a):
        b = bytearray()
        if "stringValue" in a:
            put(b, 1, a["stringValue"].encode())
        if "boolValue" in a:
            put(b, 2, 1 if a["boolValue"] else 0)
        if "intValue" in a:
            put(b, 3, int(a["intValue"]))
        if "arrayValue" in a:
            arr = bytearray()
            for v in a["arrayValue"].get("values", []):
                put(arr, 1, anyv(v))
            put(b, 5, arr)
        return b

    def kv(k):
        b = bytearray()
        put(b, 1, k["key"].encode())
        put(b, 2, anyv(k.get("value", {})))
        return b

    def vt(v):
        b = bytearray()
        put(b, 1, v.get("typeStrindex", 0))
        put(b, 2, v.get("unitStrindex", 0))
        return b

    d = j.get("dictionary", {})
    dic = bytearray()
    for m in d.get("mappingTable", []):
        b = bytearray()
        put(b, 4, m.get("filenameStrindex", 0))
        for i in m.get("attributeIndices", []):
            put(b, 5, i)
        put(dic, 1, b)
    for l in d.get("locationTable", []):
        b = bytearray()
        for line in l.get("lines", []):
            lb = bytearray()
            put(lb, 1, line.get("functionIndex", 0))
            put(b, 3, lb)
        put(dic, 2, b)
    for f in d.get("functionTable", []):
        b = bytearray()
        put(b, 1, f.get("nameStrindex", 0))
        put(dic, 3, b)
    for l in d.get("linkTable", []):
        b = bytearray()
        put(b, 1, bytes.fromhex(l.get("traceId", "")))
        put(b, 2, bytes.fromhex(l.get("spanId", "")))
        put(dic, 4, b)
    for s in d.get("stringTable", []):
        put(dic, 5, s.encode())
    for a in d.get("attributeTable", []):
        b = bytearray()
        put(b, 1, a.get("keyStrindex", 0))
        put(b, 2, anyv(a.get("value", {})))
        put(b, 3, a.get("unitStrindex", 0))
        put(dic, 6, b)
    for s in d.get("stackTable", []):
        b = bytearray()
        for i in s.get("locationIndices", []):
            put(b, 1, i)
        put(dic, 7, b)
    for rp in j.get("resourceProfiles", []):
        rb = bytearray()
        res = bytearray()
        for k in rp.get("resource", {}).get("attributes", []):
            put(res, 1, kv(k))
        put(rb, 1, res)
        for sp in rp.get("scopeProfiles", []):
            sb = bytearray()
            for p in sp.get("profiles", []):
                pb = bytearray()
                put(pb, 1, vt(p.get("sampleType", {})))
                for s in p.get("samples", []):
                    b = bytearray()
                    put(b, 1, s.get("stackIndex", 0))
                    for i in s.get("attributeIndices", []):
                        put(b, 2, i)
                    put(b, 3, s.get("linkIndex", 0))
                    for v in s.get("values", []):
                        put(b, 4, int(v))
                    put(pb, 2, b)
                put(sb, 2, pb)
            put(rb, 2, sb)
        put(out, 1, rb)
    put(out, 2, dic)
    return bytes(out)

# ---- pprof (profile.proto) --------------------------------------------------
# Profile: sample_type 1, sample 2, mapping 3, location 4, function 5,
#   string_table 6
# ValueType: type 1, unit 2; Sample: location_id 1, value 2, label 3
# Label: key 1, str 2, num 3; Location: id 1, line 4; Line: function_id 1
# Function: id 1, name 2; Mapping: id 1, filename 5, build_id 6


def decode_pprof(data):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    p = msg(data)
    strings = [text(s) for s in p.get(6, [])]
    funcs = {one(msg(f), 1): strings[one(msg(f), 2)] for f in p.get(5, [])}
    locs = {}
    for l in p.get(4, []):
        ld = msg(l)
        locs[one(ld, 1)] = tuple(funcs[one(msg(line), 1)] for line in ld.get(4, []))
    types = ["%s/%s" % (strings[one(msg(t), 1)], strings[one(msg(t), 2)]) for t in p.get(1, [])]
    samples = []
    for s in p.get(2, []):
        sd = msg(s)
        stack = tuple(n for lid in ints(sd, 1) for n in locs[lid])
        labels = {}
        for lab in sd.get(3, []):
            ld = msg(lab)
            key = strings[one(ld, 1)]
            labels[key] = strings[one(ld, 2)] if one(ld, 2) else str(signed(one(ld, 3)))
        for t, v in zip(types, ints(sd, 2)):
            samples.append({"type": t, "stack": stack, "labels": labels, "value": v})
    mappings = [{"file": strings[one(msg(m), 5)], "build_id": strings[one(msg(m), 6)]} for m in p.get(3, [])]
    return {"samples": samples, "mappings": mappings}


def aggregate(samples):
    agg = {}
    for s in samples:
        if not s["value"]:
            continue
        key = (s["type"], tuple(s["stack"]), tuple(sorted(s["labels"].items())))
        agg[key] = agg.get(key, 0) + s["value"]
    return agg

# ---- the fake collector ------------------------------------------------------


class Collector(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", ctype="application/x-protobuf", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        srv = self.server
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        rec = {"path": self.path, "len": len(raw),
               "gzip": self.headers.get("Content-Encoding") == "gzip",
               "json": "json" in (self.headers.get("Content-Type") or ""),
               "headers": {k.lower(): v for k, v in self.headers.items()}}
        with srv.lock:
            step = srv.script.pop(0) if srv.script else None
        status, extra, body = 200, [], b""
        if self.path != "/v1development/profiles":
            status = 404
        elif step:
            code, _, arg = step.partition(":")
            status = int(code)
            if status in (429, 503) and arg:
                extra.append(("Retry-After", arg))
            if status == 400:
                msg_b = arg.encode()
                body = bytes([0x08, 3, 0x12, len(msg_b)]) + msg_b  # Status{code: 3, message}
        elif srv.max_body and len(raw) > srv.max_body:
            status = 413
        else:
            data = gzip.decompress(raw) if rec["gzip"] else raw
            try:
                rec["request"] = decode_otlp(from_json(json.loads(data)) if rec["json"] else data)
            except Exception as e:  # a request we cannot read: the test fails on it
                rec["decode_error"] = repr(e)
                status = 400
        rec["status"] = status
        with srv.lock:
            srv.out.write(json.dumps(rec) + "\n")
            srv.out.flush()
        if status == 200 and rec["json"]:
            self.answer(200, b"{}", "application/json")
        else:
            self.answer(status, body, extra=extra)


def serve(a):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    srv.lock = threading.Lock()
    srv.script = [s for s in (a.script or "").split(",") if s]
    srv.max_body = a.max_body
    srv.out = open(a.out, "a")
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


def compare(a):
    want = decode_pprof(open(a.pprof, "rb").read())
    reqs = [json.loads(l) for l in open(a.requests)]
    got = [r["request"] for r in reqs if r.get("status") == 200 and "request" in r]
    errors = [r["decode_error"] for r in reqs if "decode_error" in r]
    problems = ["a request did not decode: %s" % e for e in errors]
    if not got:
        problems.append("no request was accepted")
    w = aggregate(want["samples"])
    g = aggregate([s for r in got for s in r["samples"]])
    for k in sorted(set(w) | set(g), key=repr):
        if w.get(k) != g.get(k):
            problems.append("sample %r: pprof %s, OTLP %s" % (k, w.get(k), g.get(k)))
    links = sum(r["links"] for r in got)
    if a.links and links < a.links:
        problems.append("%d samples with a Link, want at least %d" % (links, a.links))
    for kv in a.resource or []:
        k, _, v = kv.partition("=")
        for r in got:
            res = r["resources"][0] if r["resources"] else {}
            if str(res.get(k)) != v:
                problems.append("resource %s = %r, want %r" % (k, res.get(k), v))
    build_ids = {m["file"]: m["build_id"] for m in want["mappings"]}
    for r in got:
        for m in r["mappings"]:
            for k in a.mapping_attr or []:
                if m["file"].startswith("/") and k not in m["attrs"]:
                    problems.append("mapping %s has no %s" % (m["file"], k))
            gnu = m["attrs"].get("process.executable.build_id.gnu")
            if gnu is not None and build_ids.get(m["file"]) != gnu:
                problems.append("mapping %s: build id %s, pprof has %s" % (m["file"], gnu, build_ids.get(m["file"])))
    if a.check_htlhash:
        checked = 0
        for r in got:
            for m in r["mappings"]:
                h = m["attrs"].get("process.executable.build_id.htlhash")
                if h is None or not os.path.isfile(m["file"]):
                    continue
                data = open(m["file"], "rb").read()
                want_h = hashlib.sha256(data[:4096] + data[-4096:] + len(data).to_bytes(8, "big")).hexdigest()[:32]
                checked += 1
                if h != want_h:
                    problems.append("mapping %s: htlhash %s, want %s" % (m["file"], h, want_h))
        if not checked:
            problems.append("no mapping with an htlhash to check")
    for p in problems[:40]:
        print(p)
    print("compared %d pprof samples with %d OTLP samples in %d requests: %s"
          % (len(w), len(g), len(got), "differ" if problems else "same"))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port-file", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--max-body", type=int, default=0)
    s.add_argument("--script")
    c = sub.add_parser("compare")
    c.add_argument("--pprof", required=True)
    c.add_argument("--requests", required=True)
    c.add_argument("--links", type=int, default=0)
    c.add_argument("--resource", action="append")
    c.add_argument("--mapping-attr", action="append")
    c.add_argument("--check-htlhash", action="store_true")
    a = ap.parse_args()
    if a.cmd == "serve":
        serve(a)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main())
