// The template editor: fields as SVG boxes over the blank form, moved and resized with the
// pointer; their rules in the panel beside it. No framework: the template JSON is the state,
// every change re-draws from it, and undo restores an earlier copy of it.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var MIN = 4;            // smallest box side, in reference pixels
  var HANDLE = 9;         // handle size, in screen pixels
  var EDGES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

  var cfg, tpl, W, H, csrf;
  var svg, layer, canvas, panel;
  var selected = -1, scale = 1, zoom = 1, drag = null, typing = null;
  var undoStack = [], problems = [], asked = 0, timer = null, dirty = false;

  function $(id) { return document.getElementById(id); }
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function fields() { return tpl.fields || (tpl.fields = []); }

  // ---- undo ---------------------------------------------------------------------------------
  function remember() {
    undoStack.push({ t: JSON.stringify(tpl), sel: selected });
    if (undoStack.length > 300) undoStack.shift();
    $("undo").disabled = false;
  }
  function undo() {
    var last = undoStack.pop();
    if (!last) return;
    tpl = JSON.parse(last.t);
    selected = last.sel < fields().length ? last.sel : -1;
    typing = null;
    $("undo").disabled = !undoStack.length;
    changed(true);
  }

  // ---- drawing ------------------------------------------------------------------------------
  function layout() {
    var fit = Math.min(canvas.clientWidth / W, canvas.clientHeight / H);
    scale = fit * zoom;
    svg.setAttribute("width", String(Math.floor(W * scale)));
    svg.setAttribute("height", String(Math.floor(H * scale)));
    canvas.classList.toggle("zoomed", zoom > 1);
    draw();
  }

  function problemsOf(i) {
    var f = fields()[i], label = "fields[" + i + "]";
    return problems.filter(function (p) {
      return p.field !== null && (p.field === label || (f && p.field === f.name));
    });
  }

  function draw() {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    var px = 1 / scale;
    fields().forEach(function (f, i) {
      var b = f.box || [0, 0, 0, 0];
      var cls = "fld" + (i === selected ? " selected" : "") + (problemsOf(i).length ? " invalid" : "");
      var g = el("g", { "class": cls, "data-index": String(i) }, layer);
      el("rect", { "class": "body", x: b[0], y: b[1], width: b[2], height: b[3], "data-index": String(i) }, g);
      if (f.kind === "comb" && f.cells > 1) {
        for (var c = 1; c < f.cells; c++) {
          var cx = b[0] + (b[2] * c) / f.cells;
          el("line", { "class": "cell", x1: cx, x2: cx, y1: b[1], y2: b[1] + b[3] }, g);
        }
      }
      if (f.kind === "line") {
        el("line", { "class": "base", x1: b[0], x2: b[0] + b[2], y1: b[1] + b[3], y2: b[1] + b[3] }, g);
      }
      var label = el("text", { "class": "label", x: b[0], y: b[1] - 4 * px, "font-size": 13 * px }, g);
      label.textContent = f.name || "(no name)";
      if (i === selected) {
        var s = HANDLE * px;
        EDGES.forEach(function (e) {
          var hx = e.indexOf("w") >= 0 ? b[0] : e.indexOf("e") >= 0 ? b[0] + b[2] : b[0] + b[2] / 2;
          var hy = e.indexOf("n") >= 0 ? b[1] : e.indexOf("s") >= 0 ? b[1] + b[3] : b[1] + b[3] / 2;
          el("rect", { "class": "handle h-" + e, x: hx - s / 2, y: hy - s / 2, width: s, height: s,
                       "data-edge": e, "data-index": String(i) }, g);
        });
      }
    });
  }

  function drawList() {
    var list = $("field-list");
    list.textContent = "";
    $("field-count").textContent = "(" + fields().length + ")";
    fields().forEach(function (f, i) {
      var li = document.createElement("li");
      var n = problemsOf(i).length;
      li.className = (i === selected ? "selected" : "") + (n ? " invalid" : "");
      li.dataset.index = String(i);
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "link";
      btn.textContent = f.name || "(no name)";
      btn.addEventListener("click", function () { select(i); });
      li.appendChild(btn);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " " + (f.kind || "?") + (f.kind === "comb" && f.cells ? " ×" + f.cells : "");
      li.appendChild(meta);
      if (n) {
        var bad = document.createElement("span");
        bad.className = "count";
        bad.textContent = n === 1 ? "1 problem" : n + " problems";
        li.appendChild(bad);
      }
      list.appendChild(li);
    });
  }

  function fillProblems(ul, items) {
    ul.textContent = "";
    items.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.message;
      ul.appendChild(li);
    });
  }

  function drawProblems() {
    var mine = problems.filter(function (p) { return p.field === null; });
    fillProblems($("template-problems"), mine);
    ["name", "description"].forEach(function (k) {
      var input = document.querySelector("[data-tkey=" + k + "]");
      input.classList.toggle("invalid", mine.some(function (p) { return p.key === k; }));
    });
    var form = $("field-form");
    var lists = form.querySelectorAll("ul.problems");
    var own = selected >= 0 ? problemsOf(selected) : [];
    var byKey = {};
    own.forEach(function (p) {
      var k = p.key && form.querySelector("ul.problems[data-for='" + p.key + "']") ? p.key : "";
      (byKey[k] = byKey[k] || []).push(p);
    });
    Array.prototype.forEach.call(lists, function (ul) { fillProblems(ul, byKey[ul.dataset.for] || []); });
    Array.prototype.forEach.call(form.querySelectorAll("input, select"), function (input) {
      var key = input.dataset.key || (input.dataset.box ? "box" : input.dataset.range ? "range" : "");
      input.classList.toggle("invalid", !!byKey[key]);
    });
  }

  function fillForm() {
    var form = $("field-form");
    var f = fields()[selected];
    form.hidden = !f;
    $("delete-field").disabled = !f;
    ["name", "description"].forEach(function (k) {
      var input = document.querySelector("[data-tkey=" + k + "]");
      if (input !== document.activeElement) input.value = tpl[k] == null ? "" : tpl[k];
    });
    $("title").textContent = tpl.name || "(no name)";
    if (!f) return;
    Array.prototype.forEach.call(form.querySelectorAll("input, select"), function (input) {
      if (input === document.activeElement) return;
      var v;
      if (input.dataset.key) v = f[input.dataset.key];
      else if (input.dataset.box) v = (f.box || [])[+input.dataset.box];
      else if (input.dataset.range) v = (f.range || [])[+input.dataset.range];
      input.value = v == null ? "" : String(v);
    });
    $("f-cells").disabled = f.kind !== "comb";
  }

  function changed(refill) {
    dirty = true;
    draw();
    drawList();
    if (refill) fillForm();
    drawProblems();
    clearTimeout(timer);
    timer = setTimeout(validate, 250);
  }

  function select(i) {
    selected = i;
    typing = null;
    draw();
    drawList();
    fillForm();
    drawProblems();
    var item = document.querySelector("#field-list li[data-index='" + i + "']");
    if (item && item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
  }

  // ---- the server ---------------------------------------------------------------------------
  function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ source: cfg.source, template: tpl }),
    });
  }

  function status(text, kind) {
    var s = $("status");
    s.textContent = text;
    s.title = text;
    s.className = kind || "muted";
  }

  function validate() {
    var mine = ++asked;
    post(cfg.validate).then(function (r) { return r.ok ? r.json() : null; }).then(function (out) {
      if (!out || mine !== asked) return;
      problems = out.problems;
      draw();
      drawList();
      drawProblems();
      document.body.dataset.validated = String(mine);
    }).catch(function () { status("Could not check the template (offline?)", "bad"); });
  }

  function save() {
    clearTimeout(timer);
    var mine = ++asked;
    status("Saving…");
    post(cfg.save).then(function (r) {
      return r.json().catch(function () { return { detail: r.status + " " + r.statusText }; })
        .then(function (out) { return { ok: r.ok, out: out }; });
    }).then(function (res) {
      if (mine !== asked) return;
      if (res.ok && res.out.saved) {
        problems = [];
        dirty = false;
        cfg.source = { kind: "template", key: res.out.name };
        history.replaceState(null, "", res.out.edit_url);
        $("source-kind").textContent = "saved template";
        status("Saved as " + res.out.path, "ok");
      } else if (res.out.problems) {
        problems = res.out.problems;
        var n = problems.length;
        status("Not saved: " + n + (n === 1 ? " problem" : " problems") + " to fix first", "bad");
      } else {
        status("Not saved: " + (typeof res.out.detail === "string" ? res.out.detail : "the request was refused"), "bad");
      }
      draw();
      drawList();
      drawProblems();
    }).catch(function () { status("Not saved: the server did not answer", "bad"); });
  }

  // ---- editing ------------------------------------------------------------------------------
  function uniqueName() {
    var names = {};
    fields().forEach(function (f) { names[f.name] = true; });
    for (var n = fields().length + 1; ; n++) if (!names["field_" + n]) return "field_" + n;
  }

  function addField(box) {
    remember();
    fields().push({ name: uniqueName(), box: box, kind: "box" });
    selected = fields().length - 1;
    changed(true);
    drawList();
  }

  function addFieldInView() {
    var w = Math.round(W * 0.2), h = Math.round(Math.max(H * 0.035, 20));
    var cx = (canvas.scrollLeft + canvas.clientWidth / 2) / scale;
    var cy = (canvas.scrollTop + canvas.clientHeight / 2) / scale;
    addField([Math.round(clamp(cx - w / 2, 0, W - w)), Math.round(clamp(cy - h / 2, 0, H - h)), w, h]);
  }

  function deleteField() {
    if (selected < 0) return;
    remember();
    fields().splice(selected, 1);
    selected = -1;
    changed(true);
  }

  function toImage(ev) {
    var pt = svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    var m = svg.getScreenCTM();
    return m ? pt.matrixTransform(m.inverse()) : { x: 0, y: 0 };
  }

  function onDown(ev) {
    if (ev.button !== 0) return;
    var t = ev.target, p = toImage(ev);
    var i = t.dataset && t.dataset.index !== undefined ? +t.dataset.index : -1;
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    typing = null;
    if (i >= 0) {
      if (i !== selected) select(i);
      drag = { mode: t.dataset.edge ? "resize" : "move", edge: t.dataset.edge || "", i: i,
               x: p.x, y: p.y, box: fields()[i].box.slice(), moved: false };
    } else {
      drag = { mode: "draw", i: -1, x: p.x, y: p.y, sx: ev.clientX, sy: ev.clientY, moved: false };
    }
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  }

  function onMove(ev) {
    if (!drag) return;
    var p = toImage(ev), dx = p.x - drag.x, dy = p.y - drag.y;
    if (!drag.moved) {
      if (Math.abs(dx) * scale < 3 && Math.abs(dy) * scale < 3) return;  // a click, not a drag
      drag.moved = true;
      if (drag.mode === "draw") {
        remember();
        fields().push({ name: uniqueName(), box: [Math.round(drag.x), Math.round(drag.y), MIN, MIN], kind: "box" });
        drag.i = selected = fields().length - 1;
      } else {
        remember();
      }
    }
    var f = fields()[drag.i], b;
    if (drag.mode === "move") {
      var b0 = drag.box;
      b = [clamp(b0[0] + dx, 0, W - b0[2]), clamp(b0[1] + dy, 0, H - b0[3]), b0[2], b0[3]];
    } else if (drag.mode === "draw") {
      var x1 = clamp(Math.min(drag.x, p.x), 0, W), y1 = clamp(Math.min(drag.y, p.y), 0, H);
      var x2 = clamp(Math.max(drag.x, p.x), 0, W), y2 = clamp(Math.max(drag.y, p.y), 0, H);
      b = [x1, y1, Math.max(MIN, x2 - x1), Math.max(MIN, y2 - y1)];
    } else {
      b = resized(drag.box, drag.edge, dx, dy);
    }
    f.box = b.map(Math.round);
    draw();
    fillForm();
  }

  function resized(b0, edge, dx, dy) {
    var l = b0[0], t = b0[1], r = b0[0] + b0[2], btm = b0[1] + b0[3];
    if (edge.indexOf("w") >= 0) l = clamp(l + dx, 0, r - MIN);
    if (edge.indexOf("e") >= 0) r = clamp(r + dx, l + MIN, W);
    if (edge.indexOf("n") >= 0) t = clamp(t + dy, 0, btm - MIN);
    if (edge.indexOf("s") >= 0) btm = clamp(btm + dy, t + MIN, H);
    return [l, t, r - l, btm - t];
  }

  function onUp(ev) {
    if (!drag) return;
    var was = drag;
    drag = null;
    if (svg.hasPointerCapture(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
    if (was.moved) { changed(true); select(was.i); }
    else if (was.mode === "draw") select(-1);
  }

  function onField(ev) {
    var input = ev.target, f = fields()[selected];
    if (!f || !(input.dataset.key || input.dataset.box || input.dataset.range)) return;
    if (typing !== input) { remember(); typing = input; }
    var v = input.value.trim();
    if (input.dataset.box) {
      var box = (f.box || [0, 0, MIN, MIN]).slice();
      box[+input.dataset.box] = v === "" ? 0 : Math.round(+v);
      f.box = box;
    } else if (input.dataset.range) {
      var lo = $("f-range-lo").value.trim(), hi = $("f-range-hi").value.trim();
      if (lo === "" && hi === "") delete f.range;
      else f.range = [lo === "" ? null : +lo, hi === "" ? null : +hi];
    } else {
      var key = input.dataset.key;
      var value = input.dataset.type === "int" ? (v === "" ? null : Math.round(+v)) : input.value;
      if (value === null || value === "") delete f[key]; else f[key] = value;
      if (key === "kind") {
        if (value !== "comb") delete f.cells;
        else if (!f.cells) f.cells = Math.max(1, Math.round(f.box[2] / Math.max(f.box[3], 1)));
        typing = null;
      }
    }
    changed(input.tagName === "SELECT");
  }

  function onTemplate(ev) {
    var input = ev.target, k = input.dataset.tkey;
    if (!k) return;
    if (typing !== input) { remember(); typing = input; }
    if (input.value === "") delete tpl[k]; else tpl[k] = input.value;
    $("title").textContent = tpl.name || "(no name)";
    changed(false);
  }

  function typingIn(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }

  function onKey(ev) {
    if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && !ev.altKey && (ev.key === "z" || ev.key === "Z")) {
      ev.preventDefault();
      undo();
      return;
    }
    if (typingIn(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey || selected < 0) return;
    if (ev.key === "Delete" || ev.key === "Backspace") { ev.preventDefault(); deleteField(); return; }
    var step = ev.shiftKey ? 10 : 1, d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (d) {
      ev.preventDefault();
      remember();
      var b = fields()[selected].box;
      fields()[selected].box = [clamp(b[0] + d[0], 0, W - b[2]), clamp(b[1] + d[1], 0, H - b[3]), b[2], b[3]];
      changed(true);
    }
  }

  function setZoom(z) {
    var cx = (canvas.scrollLeft + canvas.clientWidth / 2) / scale, cy = (canvas.scrollTop + canvas.clientHeight / 2) / scale;
    zoom = clamp(z, 1, 8);
    layout();
    canvas.scrollLeft = cx * scale - canvas.clientWidth / 2;
    canvas.scrollTop = cy * scale - canvas.clientHeight / 2;
  }

  function start() {
    var data = $("template-data");
    if (!data) return;
    cfg = JSON.parse(data.textContent);
    tpl = cfg.template;
    csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
    svg = $("sheet");
    layer = $("boxes");
    canvas = $("canvas");
    panel = $("panel");
    var size = tpl.size || [1000, 1400];
    W = size[0];
    H = size[1];
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    $("reference").setAttribute("width", String(W));
    $("reference").setAttribute("height", String(H));
    svg.addEventListener("pointerdown", onDown);
    svg.addEventListener("pointermove", onMove);
    svg.addEventListener("pointerup", onUp);
    svg.addEventListener("pointercancel", onUp);
    panel.addEventListener("input", function (ev) { if (ev.target.dataset.tkey) onTemplate(ev); else onField(ev); });
    panel.addEventListener("change", function (ev) { typing = null; if (ev.target.tagName === "SELECT") return; validate(); });
    $("add-field").addEventListener("click", addFieldInView);
    $("delete-field").addEventListener("click", deleteField);
    $("undo").addEventListener("click", undo);
    $("save").addEventListener("click", save);
    $("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.5); });
    $("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.5); });
    $("zoom-fit").addEventListener("click", function () { setZoom(1); });
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", layout);
    window.addEventListener("beforeunload", function (ev) { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
    layout();
    select(fields().length ? 0 : -1);
    dirty = false;
    validate();
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
