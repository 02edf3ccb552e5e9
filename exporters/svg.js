// exporters/svg.js — the script embedded in every SVG flame graph of ignis.
//
// The build turns this file into a C string (exporters/build.mk); svg.c
// writes it at the end of the document, after the frames and after a
// one-line configuration object C:
//   C.W  width of the frame area (px)     C.x  left padding (px)
//   C.h  row height (px)                  C.ty text baseline below a row's top
//   C.r0 y of the root row                C.fs font size (px)
//   C.tot root value                      C.hl highlight colour for matches
//
// Every frame is <g v=VALUE><title>NAME\nDETAILS</title><rect/>[<text/>]
// </g>, in depth-first order.  The depth of a frame is its row (rect y);
// its offset in value units is rebuilt exactly from the values: the first
// child starts at its parent, each next sibling where the previous one
// ends.  Zoom and search work in these integer value units, so deep zooms
// stay aligned and "Matched" never counts a nested match twice.
// Lines that are only a comment are stripped when the script is embedded.
"use strict";
var F = [], fr, det, mat, rst, sbtn, zoomed = null, query = null;
var NS = "http://www.w3.org/2000/svg";

function byId(id) { return document.getElementById(id); }

function init() {
    fr = byId("frames"); det = byId("details"); mat = byId("matched");
    rst = byId("reset"); sbtn = byId("search");
    var last = [], cursor = [], owner = [];
    for (var g = fr.firstElementChild; g; g = g.nextElementSibling) {
        // skip the "No samples" text of an empty graph
        if (g.tagName !== "g") continue;
        var t = g.firstElementChild, r = t.nextElementSibling;
        var d = Math.round(Math.abs(+r.getAttribute("y") - C.r0) / C.h);
        var v = +g.getAttribute("v"), o = 0;
        if (d > 0) {
            var p = last[d - 1];
            if (owner[d] !== p) { owner[d] = p; cursor[d] = p.o; }
            o = cursor[d];
            cursor[d] = o + v;
        }
        var f = { g: g, r: r, t: r.nextElementSibling, o: o, v: v, d: d,
                  n: t.textContent.split("\n")[0], fill: r.getAttribute("fill") };
        g.ig = f;
        last[d] = f;
        F.push(f);
    }
    fr.addEventListener("click", function (e) { var f = frameOf(e); if (f) zoom(f); });
    fr.addEventListener("mouseover", function (e) { var f = frameOf(e); if (f) det.textContent = describe(f); });
    fr.addEventListener("mouseout", function () { det.textContent = " "; });
    rst.addEventListener("click", unzoom);
    sbtn.addEventListener("click", function () { if (query !== null) clearSearch(); else ask(); });
    window.addEventListener("keydown", function (e) {
        if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) { e.preventDefault(); ask(); }
        else if (e.key === "Escape") { clearSearch(); unzoom(); }
    });
    var q = new URLSearchParams(location.search);
    if (q.has("z") && F[+q.get("z")]) zoom(F[+q.get("z")]);
    if (q.get("s")) search(q.get("s"));
    document.documentElement.setAttribute("data-frames", String(F.length));
}

function frameOf(e) {
    var g = e.target.closest ? e.target.closest("#frames > g") : null;
    return g ? g.ig : null;
}

function describe(f) {
    return f.g.firstElementChild.textContent.replace(/\n/g, "  \u00b7  ");
}

// The label that fits in w pixels: the name, or its start and "..", or
// nothing (svg.c applies the same rule when it writes the file).
function label(name, w) {
    var n = Math.floor((w - 6) / (C.fs * 0.59));
    if (n < 3) return "";
    return name.length <= n ? name : name.slice(0, n - 2) + "..";
}

// Pixels rounded to 0.1 without a trailing ".0", as svg.c writes them.
function px(x) { return String(Math.round(x * 10) / 10); }

function place(f, x, w) {
    f.r.setAttribute("x", px(x));
    f.r.setAttribute("width", px(w));
    var s = label(f.n, w);
    if (!f.t && s) {
        f.t = document.createElementNS(NS, "text");
        f.t.setAttribute("y", px(+f.r.getAttribute("y") + C.ty));
        f.g.appendChild(f.t);
    }
    if (f.t) {
        f.t.setAttribute("x", px(x + 3));
        f.t.textContent = s;
    }
}

function show(f, cls) {
    f.g.classList.toggle("fade", cls === "fade");
    f.g.classList.toggle("hide", cls === "hide");
}

// Zooms on frame z: it and its descendants fill the width, its ancestors
// stay full width but faded, everything else is hidden.
function zoom(z) {
    if (z.d === 0) { unzoom(); return; }
    zoomed = z;
    rst.setAttribute("class", "btn");
    var k = C.W / z.v, end = z.o + z.v;
    for (var i = 0; i < F.length; i++) {
        var f = F[i];
        if (f.d >= z.d && f.o >= z.o && f.o + f.v <= end) {
            show(f, null);
            place(f, C.x + (f.o - z.o) * k, f.v * k);
        } else if (f.d < z.d && f.o <= z.o && f.o + f.v >= end) {
            show(f, "fade");
            place(f, C.x, C.W);
        } else {
            show(f, "hide");
        }
    }
}

function unzoom() {
    if (!zoomed) return;
    zoomed = null;
    rst.setAttribute("class", "btn hide");
    var k = C.W / C.tot;
    for (var i = 0; i < F.length; i++) {
        show(F[i], null);
        place(F[i], C.x + F[i].o * k, F[i].v * k);
    }
}

function ask() {
    var s = prompt("Search frames (regular expression):", query === null ? "" : query);
    if (s === null) return;
    if (s === "") clearSearch(); else search(s);
}

// Highlights the frames whose name matches and shows the share of the
// total they cover.  Value ranges of frames nest like the call tree, so
// sorted by offset (widest first), a match that starts inside the last
// counted one is nested in it and is not counted again.
function search(src) {
    var re;
    try { re = new RegExp(src); } catch (e) { mat.textContent = "Invalid regular expression"; return; }
    query = src;
    var hits = [];
    for (var i = 0; i < F.length; i++) {
        var f = F[i];
        if (re.test(f.n)) { f.r.setAttribute("fill", C.hl); hits.push(f); }
        else f.r.setAttribute("fill", f.fill);
    }
    hits.sort(function (a, b) { return a.o - b.o || b.v - a.v; });
    var sum = 0, end = -1;
    for (var j = 0; j < hits.length; j++) {
        if (hits[j].o >= end) { sum += hits[j].v; end = hits[j].o + hits[j].v; }
    }
    var pct = C.tot > 0 ? 100 * sum / C.tot : 0;
    mat.textContent = "Matched: " + pct.toFixed(2) + "% (" + hits.length + " frames)";
    sbtn.textContent = "Reset Search";
}

function clearSearch() {
    if (query === null) return;
    query = null;
    for (var i = 0; i < F.length; i++) F[i].r.setAttribute("fill", F[i].fill);
    mat.textContent = "";
    sbtn.textContent = "Search";
}

init();
