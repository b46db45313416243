"use strict";
(function () {
  // Everything from the data goes into the page through textContent / attributes only.
  var DATA = JSON.parse(document.getElementById("data").textContent);
  var SAMPLES = DATA.samples;
  var byId = function (id) { return document.getElementById(id); };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = String(v);
        else if (k === "class") node.className = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function scoreColor(score) {
    if (score === null || score === undefined) return "#eef0f3";
    var hue = Math.max(0, Math.min(100, score)) * 1.2;
    return "hsl(" + hue.toFixed(0) + ", 70%, 82%)";
  }

  function fmtScore(s) { return s === null || s === undefined ? "–" : s.toFixed(1); }

  // ------------------------------------------------------------------ sample table
  var tbody = document.querySelector("#samples tbody");
  var rows = [];

  SAMPLES.forEach(function (s) {
    var statusCls = s.failed ? "status-bad" : (s.status === "provider-error" || s.status === "not-recorded" ? "status-err" : "");
    var pill = el("span", { class: "score-pill", text: fmtScore(s.score) });
    pill.style.background = s.score === null ? "transparent" : scoreColor(s.score);
    var tr = el("tr", {
      "data-id": s.id,
      "data-template": s.template,
      "data-model": s.model,
      "data-case": s.case,
      "data-sample": s.sample,
      "data-status": s.status,
      "data-failed": s.failed ? "1" : "0",
      tabindex: "0",
    },
      el("td", { class: "l", text: s.template }),
      el("td", { class: "l", text: s.model }),
      el("td", { class: "l", text: s.case }),
      el("td", { text: s.sample }),
      el("td", { class: statusCls, text: s.failed && s.status === "scored" ? "failed" : s.status }),
      el("td", {}, pill),
      el("td", { class: "num", text: s.findings.length })
    );
    tr._codes = s.codes;
    tr.addEventListener("click", function () { openDrill(s.id); });
    tr.addEventListener("keydown", function (e) { if (e.key === "Enter") openDrill(s.id); });
    rows.push(tr);
  });
  var frag = document.createDocumentFragment();
  rows.forEach(function (tr) { frag.appendChild(tr); });
  tbody.appendChild(frag);

  var fModel = byId("f-model"), fTemplate = byId("f-template"), fRule = byId("f-rule"), fFailing = byId("f-failing");
  Object.keys(DATA.rules).forEach(function (code) {
    fRule.appendChild(el("option", { value: code, text: code + " " + DATA.rules[code].name }));
  });

  function applyFilters() {
    var m = fModel.value, t = fTemplate.value, r = fRule.value, failing = fFailing.checked;
    var shown = 0;
    rows.forEach(function (tr) {
      var ok = (!m || tr.dataset.model === m) && (!t || tr.dataset.template === t) &&
        (!r || tr._codes.indexOf(r) >= 0) && (!failing || tr.dataset.failed === "1");
      tr.hidden = !ok;
      if (ok) shown++;
    });
    byId("shown-count").textContent = "showing " + shown + " of " + rows.length + " samples";
    document.querySelectorAll("#matrix td.mcell").forEach(function (td) {
      td.classList.toggle("active", td.dataset.model === m && td.dataset.template === t);
    });
  }
  [fModel, fTemplate, fRule, fFailing].forEach(function (c) { c.addEventListener("change", applyFilters); });
  byId("f-reset").addEventListener("click", function () {
    fModel.value = ""; fTemplate.value = ""; fRule.value = ""; fFailing.checked = false; applyFilters();
  });
  document.querySelectorAll("td.hcell").forEach(function (td) {
    var pick = function () {
      fModel.value = td.dataset.model; fTemplate.value = td.dataset.template || ""; fRule.value = td.dataset.code;
      applyFilters();
      byId("samples-section").scrollIntoView({ block: "start" });
    };
    td.addEventListener("click", pick);
    td.addEventListener("keydown", function (e) { if (e.key === "Enter") pick(); });
  });
  document.querySelectorAll("#matrix td.mcell").forEach(function (td) {
    var pick = function () {
      fModel.value = td.dataset.model; fTemplate.value = td.dataset.template; applyFilters();
      byId("samples-section").scrollIntoView({ block: "start" });
    };
    td.addEventListener("click", pick);
    td.addEventListener("keydown", function (e) { if (e.key === "Enter") pick(); });
  });
  applyFilters();

  // ------------------------------------------------------------------ rendering helpers
  function renderDocs(text) {
    // A small Markdown subset: "## heading", ``` fences, paragraphs. Text only.
    var box = el("div", { class: "docs" });
    var lines = String(text || "").split("\n");
    var para = [], fence = null;
    function flush() { if (para.length) { box.appendChild(el("p", { text: para.join(" ") })); para = []; } }
    lines.forEach(function (line) {
      if (fence !== null) {
        if (/^\s*```/.test(line)) { box.appendChild(el("pre", { text: fence.join("\n") })); fence = null; }
        else fence.push(line);
        return;
      }
      if (/^\s*```/.test(line)) { flush(); fence = []; return; }
      var h = /^#+\s+(.*)$/.exec(line);
      if (h) { flush(); box.appendChild(el("h5", { text: h[1] })); return; }
      if (!line.trim()) { flush(); return; }
      para.push(line.trim());
    });
    if (fence !== null) box.appendChild(el("pre", { text: fence.join("\n") }));
    flush();
    return box;
  }

  function findingLabel(f) {
    return f.code + " " + f.line + ":" + f.col + " " + f.message;
  }

  function renderCode(s) {
    var wrap = el("div", { class: "units" });
    if (!s.units.length) {
      wrap.appendChild(el("p", { class: "empty-note", text: "No code was extracted (" + s.status + ")." }));
      return wrap;
    }
    s.units.forEach(function (u, ui) {
      var byLine = {};
      s.findings.forEach(function (f) {
        if (f.unit === ui) (byLine[f.line] = byLine[f.line] || []).push(f);
      });
      var box = el("div", { class: "code", "data-unit": ui });
      box.appendChild(el("div", { class: "path", text: u.path + (u.parse_error ? "  —  parse error: " + u.parse_error : "") }));
      var lines = String(u.source || "").split("\n");
      if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
      lines.forEach(function (text, i) {
        var n = i + 1;
        var hits = byLine[n];
        var line = el("div", { class: "code-line" + (hits ? " has-finding" : ""), "data-line": n, "data-unit": ui },
          el("span", { class: "ln", text: n }), el("span", { class: "src", text: text || " " }));
        box.appendChild(line);
        (hits || []).forEach(function (f) {
          box.appendChild(el("div", { class: "finding-msg", "data-line": n, "data-code": f.code },
            el("code", { text: f.code }), " " + f.message + " (col " + f.col + ")"));
        });
      });
      wrap.appendChild(box);
    });
    return wrap;
  }

  function findingsList(s) {
    if (!s.findings.length) return el("p", { class: "muted", text: "No findings." });
    var ul = el("ul", { class: "findings" });
    s.findings.forEach(function (f) {
      var rule = DATA.rules[f.code] || { name: f.name, docs: "" };
      var unitPath = s.units.length > 1 && s.units[f.unit] ? s.units[f.unit].path + ":" : "";
      ul.appendChild(el("li", { "data-code": f.code },
        el("details", {},
          el("summary", {}, el("code", { text: f.code }), " ", el("strong", { text: rule.name }),
            " — line " + unitPath + f.line + ": " + f.message),
          renderDocs(rule.docs))));
    });
    return ul;
  }

  function breakdownTable(s) {
    if (!s.breakdown || !s.breakdown.length) return el("p", { class: "muted", text: "No rule applied." });
    var table = el("table", { class: "breakdown" });
    var head = el("tr", {});
    ["Rule", "Weight", "From", "Outcome", "Findings", "Notes"].forEach(function (h) { head.appendChild(el("th", { text: h })); });
    table.appendChild(head);
    s.breakdown.forEach(function (b) {
      var notes = [];
      if (b.blocking) notes.push("blocking");
      if (b.instruction) notes.push("linked to an instruction");
      if (b.merged && b.merged.length) notes.push("merged duplicates: " + b.merged.join(", "));
      if (b.note) notes.push(b.note);
      var tr = el("tr", { class: "bd-" + b.outcome, "data-code": b.code });
      [b.code, String(b.weight), b.source, b.outcome, String(b.findings), notes.join("; ")].forEach(function (t) {
        tr.appendChild(el("td", { text: t }));
      });
      table.appendChild(tr);
    });
    return table;
  }

  function sampleHeader(s) {
    var bits = [s.status, "score " + fmtScore(s.score)];
    if (s.latency_ms) bits.push(Math.round(s.latency_ms) + " ms");
    if (s.cost !== null && s.cost !== undefined) bits.push("$" + s.cost.toFixed(5));
    if (s.simulated) bits.push("simulated");
    return bits.join(" · ");
  }

  // ------------------------------------------------------------------ drill-down
  var drill = byId("drilldown");

  function openDrill(id) {
    var s = SAMPLES[id];
    rows.forEach(function (tr) { tr.classList.toggle("selected", Number(tr.dataset.id) === id); });
    clear(drill);
    drill.hidden = false;
    drill.dataset.id = id;
    var close = el("button", { type: "button", class: "close", text: "Close" });
    close.addEventListener("click", function () { drill.hidden = true; });
    var cmp = el("button", { type: "button", id: "to-compare", text: "Compare with another model" });
    cmp.addEventListener("click", function () { setCompare(s.template, s.case, s.model, null, s.sample); byId("compare").scrollIntoView(); });
    drill.appendChild(close);
    drill.appendChild(el("h3", { text: s.template + " · " + s.model + " · " + s.case + " #" + s.sample }));
    drill.appendChild(el("div", { class: "muted", text: sampleHeader(s) }, " ", cmp));
    if (s.detail) drill.appendChild(el("p", { class: "detail-line", text: s.detail }));
    if (s.error) drill.appendChild(el("p", { class: "detail-line", text: "Provider error: " + s.error }));
    drill.appendChild(el("h4", { text: "Score breakdown" }));
    drill.appendChild(breakdownTable(s));
    drill.appendChild(el("h4", { text: "Findings" }));
    drill.appendChild(findingsList(s));
    drill.appendChild(el("h4", { text: "Extracted code" }));
    drill.appendChild(renderCode(s));
    drill.appendChild(el("h4", { text: "Prompt" }));
    var msgs = DATA.prompts[s.prompt] || [];
    if (!msgs.length) drill.appendChild(el("p", { class: "muted", text: "No prompt recorded." }));
    msgs.forEach(function (m) {
      drill.appendChild(el("div", { class: "msg" }, el("div", { class: "role", text: m.role }), el("pre", { class: "text", text: m.content })));
    });
    drill.appendChild(el("h4", { text: "Raw reply" }));
    drill.appendChild(el("div", { class: "msg", id: "raw-reply" },
      el("pre", { class: "text", text: s.reply === null || s.reply === undefined ? "(no reply)" : s.reply })));
    drill.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------ side by side
  var cTemplate = byId("cmp-template"), cCase = byId("cmp-case"), cA = byId("cmp-a"), cB = byId("cmp-b");
  var cSample = byId("cmp-sample");

  function fill(select, values, keep) {
    var old = keep !== undefined && keep !== null ? keep : select.value;
    clear(select);
    values.forEach(function (v) { select.appendChild(el("option", { value: v, text: v })); });
    if (values.indexOf(old) >= 0) select.value = old;
  }

  function casesOf(t) {
    var seen = {};
    SAMPLES.forEach(function (s) { if (s.template === t) seen[s.case] = true; });
    return Object.keys(seen).sort();
  }

  function samplesOf(t, c) {
    var seen = {};
    SAMPLES.forEach(function (s) { if (s.template === t && s.case === c) seen[s.sample] = true; });
    return Object.keys(seen).map(Number).sort(function (a, b) { return a - b; }).map(String);
  }

  // The sample of this index for the model; the nearest lower index when it is missing.
  function sampleAt(t, c, m, index) {
    var best = null;
    SAMPLES.forEach(function (s) {
      if (s.template !== t || s.case !== c || s.model !== m) return;
      if (s.sample === index) { best = s; return; }
      if (best === null || (best.sample !== index && Math.abs(s.sample - index) < Math.abs(best.sample - index))) best = s;
    });
    return best;
  }

  function renderPane(pane, t, c, m) {
    clear(pane);
    pane.dataset.model = m || "";
    var s = m ? sampleAt(t, c, m, Number(cSample.value || 0)) : null;
    pane.appendChild(el("h3", { text: m || "(no model)" }));
    if (!s) { pane.appendChild(el("p", { class: "empty-note", text: "No embedded sample for this model and case." })); return; }
    pane.dataset.id = s.id;
    pane.appendChild(el("div", { class: "muted", text: "sample #" + s.sample + " · " + sampleHeader(s) }));
    pane.appendChild(findingsList(s));
    pane.appendChild(renderCode(s));
  }

  function renderCompare() {
    renderPane(byId("cmp-left"), cTemplate.value, cCase.value, cA.value);
    renderPane(byId("cmp-right"), cTemplate.value, cCase.value, cB.value);
  }

  function setCompare(t, c, a, b, index) {
    fill(cTemplate, DATA.templates, t);
    fill(cCase, casesOf(cTemplate.value), c);
    fill(cSample, samplesOf(cTemplate.value, cCase.value), index === undefined || index === null ? null : String(index));
    fill(cA, DATA.models, a);
    var other = b;
    if (!other) other = DATA.models.filter(function (m) { return m !== cA.value; })[0] || cA.value;
    fill(cB, DATA.models, other);
    renderCompare();
  }

  cTemplate.addEventListener("change", function () {
    fill(cCase, casesOf(cTemplate.value));
    fill(cSample, samplesOf(cTemplate.value, cCase.value));
    renderCompare();
  });
  cCase.addEventListener("change", function () { fill(cSample, samplesOf(cTemplate.value, cCase.value)); renderCompare(); });
  [cSample, cA, cB].forEach(function (c) { c.addEventListener("change", renderCompare); });
  if (DATA.templates.length && DATA.models.length) {
    var t0 = DATA.templates[0];
    setCompare(t0, casesOf(t0)[0], DATA.models[0], DATA.models[1] || DATA.models[0]);
  }
})();
