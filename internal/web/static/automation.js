// Obmen automation editor (templates/automation_editor.html): a bundle's
// chain — trigger, filters, steps — as cards from top to bottom. Each
// step's input form is generated from its action's description (GET
// /api/v1/actions); every text field has a value picker that inserts
// {{…}} references to the trigger's data and to earlier steps' outputs.
// Changes are validated as they are made (POST /api/v1/bundles/validate)
// and each problem is shown beside its step and field; Save posts the
// definition to the API, the test panel runs it in test mode. No
// framework and no build step: the page is server-rendered, this script
// builds the chain inside it. Everything works with the keyboard.
(function () {
  "use strict";
  var root = document.getElementById("auto-editor");
  if (!root) { return; }
  var boot = JSON.parse(root.dataset.boot);
  var lang = boot.lang;
  var texts = boot.texts || {};
  var chainBox = document.getElementById("chain");

  function t(key) { return Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key; }
  // tf fills %s and %d of a message in order.
  function tf(key) {
    var args = arguments, i = 1;
    return t(key).replace(/%[sd]/g, function () { return String(args[i++]); });
  }
  function lbl(x) {
    if (!x) { return ""; }
    if (typeof x === "string") { return x; }
    return (lang === "en" && x.en) ? x.en : (x.ru || x.en || "");
  }
  function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }

  var seq = 0;
  function uid(p) { seq++; return "ae-" + p + "-" + seq; }

  // el builds an element: props are attributes, except text, class,
  // value, checked, dataset and on<event> handlers.
  function el(tag, props, kids) {
    var e = document.createElement(tag);
    var value;
    props = props || {};
    Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === undefined || v === null || v === false) { return; }
      if (k === "text") { e.textContent = v; }
      else if (k === "class") { e.className = v; }
      else if (k === "value") { value = v; }
      else if (k === "checked") { e.checked = true; }
      else if (k === "dataset") { Object.keys(v).forEach(function (d) { e.dataset[d] = v[d]; }); }
      else if (k.slice(0, 2) === "on") { e.addEventListener(k.slice(2), v); }
      else { e.setAttribute(k, v === true ? "" : v); }
    });
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) { return; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    if (value !== undefined) { e.value = value; }
    return e;
  }

  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (method !== "GET") { opts.headers["X-CSRF-Token"] = boot.csrf; }
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (txt) {
        var b = null;
        try { b = txt ? JSON.parse(txt) : null; } catch (e) { b = null; }
        return {status: r.status, body: b};
      });
    });
  }
  function apiMessage(res) {
    if (res.body && res.body.error && res.body.error.message) { return res.body.error.message; }
    return "HTTP " + res.status;
  }

  // ------------------------------------------------------------ state

  var actions = [], actionByName = {}, triggers = [], triggerByType = {};
  // connsByType are the saved connections (GET /api/v1/connections?type=)
  // of each type an action works with, for the steps' connection select.
  var connsByType = {};
  var def = normalize(clone(boot.definition) || {});
  var problems = [];
  var dirty = false;
  // modes remembers which list and object fields are edited as one
  // expression (a template or JSON) instead of field by field.
  var modes = {};

  function normalize(d) {
    d.trigger = d.trigger || {type: "crm.event", entity: "lead", actions: ["create"]};
    d.filters = normalizeGroup(d.filters);
    d.steps = (d.steps || []).map(function (s) {
      if (s.when) { s.when = normalizeGroup(s.when); }
      return withUID(s);
    });
    return d;
  }
  // normalizeGroup makes a condition a group: {all: […]} or {any: […]}.
  function normalizeGroup(c) {
    if (!isObj(c) || (!c.all && !c.any && !c.op && c.value === undefined)) { return {all: []}; }
    if (c.all && c.any) { return {all: c.all.concat([{any: c.any}])}; }
    if (c.all || c.any) {
      var list = c.all || c.any;
      list.forEach(function (x, i) { if (x.all || x.any) { list[i] = normalizeGroup(x); } });
      return c.all ? {all: list} : {any: list};
    }
    return {all: [c]};
  }
  function withUID(s) {
    Object.defineProperty(s, "_uid", {value: uid("s"), enumerable: false});
    return s;
  }

  function changed() {
    dirty = true;
    scheduleValidate();
  }
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // ------------------------------------------------------------ fields

  // A labelled field: label, control(s), hint and the place for its
  // problem. path is the definition's path the engine names in problems.
  function fieldBox(label, control, opts) {
    opts = opts || {};
    var id = control.id || (control.id = uid("f"));
    var hintID = opts.hint ? uid("h") : null;
    var target = control.matches && control.matches("input, select, textarea") ? control : control.querySelector("input, select, textarea");
    if (hintID && target) { target.setAttribute("aria-describedby", hintID); target.dataset.hint = hintID; }
    var labelFor = target ? target.id : id;
    var kids = [el("label", {for: labelFor}, [label, opts.required ? el("span", {class: "req", "aria-hidden": "true", text: " *"}) : null])];
    kids.push(control);
    if (hintID) { kids.push(el("span", {class: "hint", id: hintID, text: opts.hint})); }
    return el("div", {class: "field" + (opts.cls ? " " + opts.cls : "")}, kids);
  }

  // textControl is an input (or a textarea) with the value picker beside
  // it. o: value, path, key, onInput(text), pick (the picker's sources),
  // multiline, secret, list (a datalist id), placeholder, inputmode.
  function textControl(o) {
    var id = uid("i");
    var ctl = el(o.multiline ? "textarea" : "input", {
      id: id, type: o.multiline ? null : (o.secret ? "password" : "text"), rows: o.multiline ? (o.rows || 3) : null,
      value: o.value === undefined || o.value === null ? "" : String(o.value), autocomplete: o.secret ? "new-password" : "off",
      spellcheck: o.multiline ? "false" : null, list: o.list, placeholder: o.placeholder, inputmode: o.inputmode,
      "aria-required": o.required ? "true" : null,
      dataset: {path: o.path || "", key: o.key || ""},
      oninput: function () { o.onInput(ctl.value); }
    });
    trackCaret(ctl);
    var kids = [ctl];
    if (o.pick) {
      kids.push(el("button", {type: "button", class: "picker-btn", "aria-haspopup": "dialog", "aria-expanded": "false",
        "aria-label": t("auto.pick_into") + ": " + (o.label || ""), title: t("auto.pick"), dataset: {key: (o.key || "") + "#pick"},
        onclick: function (ev) { openPicker(ev.currentTarget, ctl, o.pick); }}, ["{…}"]));
    }
    if (o.list && o.options) {
      kids.push(el("datalist", {id: o.list}, o.options.map(function (v) { return el("option", {value: v}); })));
    }
    return el("div", {class: "with-picker"}, kids);
  }

  function trackCaret(ctl) {
    var remember = function () {
      try { ctl._sel = [ctl.selectionStart, ctl.selectionEnd]; } catch (e) { ctl._sel = null; }
    };
    ["keyup", "click", "select", "input", "focus"].forEach(function (ev) { ctl.addEventListener(ev, remember); });
  }

  function selectControl(o) {
    var sel = el("select", {id: uid("s"), dataset: {path: o.path || "", key: o.key || ""},
      onchange: function () { o.onChange(sel.value); }},
      o.options.map(function (op) { return el("option", {value: op.value, text: op.label}); }));
    sel.value = o.value === undefined || o.value === null ? "" : String(o.value);
    return sel;
  }

  function checkControl(label, checked, key, path, onChange) {
    var box = el("input", {type: "checkbox", id: uid("c"), checked: checked, dataset: {key: key, path: path || ""},
      onchange: function () { onChange(box.checked); }});
    return el("label", {class: "check"}, [box, " " + label]);
  }

  function button(text, o) {
    o = o || {};
    return el("button", {type: "button", class: o.cls || "secondary small", "aria-label": o.aria, title: o.title,
      disabled: o.disabled, dataset: {key: o.key || ""}, onclick: o.onClick}, [text]);
  }

  // foldable is a <details> that stays open or closed as the user left it
  // when the chain is drawn again; open at first when it holds something.
  function foldable(cls, key, holds, summary) {
    var open = modes[key] ? modes[key] === "open" : holds;
    var det = el("details", {class: cls, open: open ? true : null}, [el("summary", {text: summary, dataset: {key: key}})]);
    det.addEventListener("toggle", function () { modes[key] = det.open ? "open" : "closed"; });
    return det;
  }

  // ------------------------------------------------------------ picker

  var picker = null;

  // openPicker shows the values that can be inserted into ctl: the
  // trigger's data and the outputs of the steps before this one.
  function openPicker(btn, ctl, sources) {
    var same = picker && picker.btn === btn;
    closePicker(false);
    if (same) { return; }
    var sel = ctl._sel || [ctl.value.length, ctl.value.length];
    var groups = typeof sources === "function" ? sources() : sources;
    var qid = uid("q");
    var list = el("div", {class: "picker-list"});
    var search = el("input", {type: "search", id: qid, autocomplete: "off", placeholder: t("auto.pick_search"),
      oninput: function () { fill(search.value); }});
    var box = el("div", {class: "picker", id: "picker", role: "dialog", "aria-label": t("auto.pick")}, [
      el("div", {class: "picker-head"}, [el("label", {for: qid, text: t("auto.pick_search")}),
        button("×", {cls: "link picker-close", aria: t("auto.close"), onClick: function () { closePicker(true); }})]),
      search, list]);
    function choose(path) {
      var text = "{{" + path + "}}";
      var v = ctl.value;
      ctl.value = v.slice(0, sel[0]) + text + v.slice(sel[1]);
      var pos = sel[0] + text.length;
      ctl.dispatchEvent(new Event("input", {bubbles: true}));
      closePicker(false);
      ctl.focus();
      try { ctl.setSelectionRange(pos, pos); } catch (e) { /* a number input */ }
      ctl._sel = [pos, pos];
    }
    function fill(q) {
      q = (q || "").toLowerCase();
      list.textContent = "";
      var any = false;
      groups.forEach(function (g) {
        var items = g.items.filter(function (it) {
          return !q || it.label.toLowerCase().indexOf(q) >= 0 || it.path.toLowerCase().indexOf(q) >= 0;
        });
        if (!items.length) { return; }
        any = true;
        list.appendChild(el("h3", {text: g.label}));
        list.appendChild(el("ul", {}, items.map(function (it) {
          return el("li", {}, [el("button", {type: "button", class: "pick", dataset: {path: it.path},
            onclick: function () { choose(it.path); }}, [el("span", {class: "pick-label", text: it.label}), " ", el("code", {text: it.path})])]);
        })));
      });
      if (!any) { list.appendChild(el("p", {class: "hint", text: t("auto.pick_none")})); }
    }
    fill("");
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        closePicker(true);
        return;
      }
      var opts = Array.prototype.slice.call(list.querySelectorAll("button.pick"));
      var i = opts.indexOf(document.activeElement);
      if (ev.key === "ArrowDown" && opts.length) {
        ev.preventDefault();
        opts[Math.min(i + 1, opts.length - 1)].focus();
      } else if (ev.key === "ArrowUp" && opts.length) {
        ev.preventDefault();
        if (i <= 0) { search.focus(); } else { opts[i - 1].focus(); }
      } else if (ev.key === "Enter" && document.activeElement === search && opts.length) {
        ev.preventDefault();
        choose(opts[0].dataset.path);
      }
    });
    box.addEventListener("focusout", function (ev) {
      var to = ev.relatedTarget;
      if (to && (box.contains(to) || to === btn)) { return; }
      // Let a click inside finish first.
      setTimeout(function () {
        if (picker && picker.box === box && !box.contains(document.activeElement)) { closePicker(false); }
      }, 0);
    });
    btn.setAttribute("aria-expanded", "true");
    btn.insertAdjacentElement("afterend", box);
    picker = {box: box, btn: btn};
    search.focus();
  }

  function closePicker(refocus) {
    if (!picker) { return; }
    var p = picker;
    picker = null;
    p.btn.setAttribute("aria-expanded", "false");
    p.box.remove();
    if (refocus) { p.btn.focus(); }
  }
  document.addEventListener("click", function (ev) {
    if (picker && !picker.box.contains(ev.target) && ev.target !== picker.btn) { closePicker(false); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    var help = document.getElementById("fn-help");
    if (help && help.open && help.contains(document.activeElement)) {
      help.open = false;
      help.querySelector("summary").focus();
    }
  });

  // recordFields are an entity's record fields: the crm.<entity>.get
  // action's output when it is registered, else the REST shape.
  function recordFields(entity) {
    var get = actionByName["crm." + entity + ".get"];
    if (get && get.output && get.output.length) { return get.output; }
    return (boot.record_fields || {})[entity] || [];
  }

  // flatten lists a description's fields as picker items; lists of
  // objects go on with their first item ([0]).
  function flatten(fields, prefix, labelPrefix, out, depth, fill) {
    (fields || []).forEach(function (f) {
      var path = prefix + "." + f.name;
      var label = (labelPrefix ? labelPrefix + " › " : "") + (lbl(f.label) || f.name);
      out.push({path: path, label: label});
      if (depth >= 4) { return; }
      var sub = f.fields;
      if ((!sub || !sub.length) && fill) { sub = fill(path); }
      if (f.type === "object" && sub && sub.length) { flatten(sub, path, label, out, depth + 1, fill); }
      if (f.type === "list" && f.item && f.item.fields && f.item.fields.length) {
        flatten(f.item.fields, path + "[0]", label + " [1]", out, depth + 1, fill);
      }
    });
    return out;
  }

  function triggerItems() {
    var tr = def.trigger;
    var info = triggerByType[tr.type];
    var entity = tr.entity;
    var fill = function (path) {
      if (!entity) { return null; }
      if (path === "trigger.record" || path === "trigger.old") { return recordFields(entity); }
      if (path === "trigger.event.changes") {
        // Each field's change: what it was and what it became.
        return recordFields(entity).filter(function (f) { return f.type !== "object" && f.type !== "list"; }).map(function (f) {
          return {name: f.name, type: "object", label: f.label, fields: [{name: "old", type: f.type, label: t("auto.change_old")},
            {name: "new", type: f.type, label: t("auto.change_new")}]};
        });
      }
      return null;
    };
    return {label: t("auto.trigger") + (info ? ": " + lbl(info.label) : ""), items: flatten(info ? info.data : [], "trigger", "", [], 0, fill)};
  }

  function stepItems(s, n) {
    var desc = actionByName[s.action];
    var out = [];
    var sid = s.id || "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(sid)) { return null; }
    if (desc) {
      var fields = desc.output && desc.output.length ? desc.output : (desc.entity ? recordFields(desc.entity) : []);
      flatten(fields, "steps." + sid, "", out, 0, null);
    }
    out.push({path: "steps." + sid + ".result", label: t("auto.step_result")});
    out.push({path: "steps." + sid + ".error", label: t("auto.step_error")});
    return {label: tf("auto.step_n", n) + " «" + (s.name || (desc ? lbl(desc.label) : s.action) || sid) + "» (" + sid + ")", items: out};
  }

  // sourcesBefore is the picker's list for a field of step i (all steps
  // before it), or for the filters and the order key (i = -1: only the
  // trigger).
  function sourcesBefore(i) {
    return function () {
      var groups = [triggerItems()];
      for (var j = 0; j < i && j < def.steps.length; j++) {
        var g = stepItems(def.steps[j], j + 1);
        if (g) { groups.push(g); }
      }
      return groups;
    };
  }

  // ------------------------------------------------------------ render

  function render(focusKey) {
    var key = focusKey || focusedKey();
    closePicker(false);
    var ol = el("ol", {class: "chain", "aria-label": t("auto.chain")});
    ol.appendChild(triggerCard());
    ol.appendChild(filtersCard());
    def.steps.forEach(function (s, i) { ol.appendChild(stepCard(s, i)); });
    ol.appendChild(addStepNode());
    chainBox.textContent = "";
    chainBox.appendChild(ol);
    chainBox.removeAttribute("aria-busy");
    showProblems(problems);
    if (key) { focusKeyed(key); }
  }

  function focusedKey() {
    var a = document.activeElement;
    return a && chainBox.contains(a) && a.dataset ? a.dataset.key : "";
  }
  function focusKeyed(key) {
    var keys = Array.isArray(key) ? key : [key];
    for (var i = 0; i < keys.length; i++) {
      if (!keys[i]) { continue; }
      var e = chainBox.querySelector('[data-key="' + cssEscape(keys[i]) + '"]');
      if (e && !e.disabled) { e.focus(); return true; }
    }
    return false;
  }
  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

  function announce(msg) {
    var st = document.getElementById("auto-status");
    st.textContent = "";
    setTimeout(function () { st.textContent = msg; }, 30);
  }

  // ------------------------------------------------------------ trigger

  function triggerCard() {
    var tr = def.trigger;
    var info = triggerByType[tr.type];
    var hid = uid("h");
    var li = el("li", {class: "node node-trigger", id: "node-trigger", "aria-labelledby": hid});
    li.appendChild(el("h2", {id: hid, text: t("auto.trigger")}));
    var opts = triggers.map(function (k) { return {value: k.type, label: lbl(k.label)}; });
    if (!info) { opts.push({value: tr.type, label: tr.type}); }
    li.appendChild(fieldBox(t("auto.trigger_type"), selectControl({options: opts, value: tr.type, key: "trigger.type", path: "trigger.type",
      onChange: function (v) {
        def.trigger = {type: v};
        if (v === "crm.event") { def.trigger.entity = "lead"; def.trigger.actions = ["create"]; }
        if (v === "manual") { def.trigger.entity = "lead"; }
        if (v === "schedule") { def.trigger.cron = "0 9 * * 1-5"; def.trigger.tz = "Europe/Moscow"; }
        changed();
        render("trigger.type");
      }}), {hint: info ? lbl(info.hint) : ""}));
    switch (tr.type) {
    case "crm.event": crmEventFields(li, tr); break;
    case "schedule": scheduleFields(li, tr); break;
    case "webhook": webhookFields(li); break;
    case "manual":
      li.appendChild(fieldBox(t("auto.entity"), entitySelect(tr, true), {hint: t("auto.manual_hint")}));
      break;
    default:
      // A connector's trigger: its connection (the steps' picker) and its
      // options (the steps' field editors); a kind not known here, or
      // one with options undescribed, gets the raw forms.
      if (info && info.connection) {
        li.appendChild(connectionField(tr, info.connection, "trigger", "trigger.connection", t("auto.trigger_conn_hint")));
      } else if (!info || tr.connection) {
        li.appendChild(fieldBox(t("auto.connection"), textControl({value: tr.connection || "", key: "trigger.connection", path: "trigger.connection",
          label: t("auto.connection"), inputmode: "numeric", onInput: function (v) {
            var n = parseInt(v, 10);
            if (n > 0) { tr.connection = n; } else { delete tr.connection; }
            changed();
          }})));
      }
      if (info && info.options && info.options.length) {
        li.appendChild(triggerOptions(tr, info));
      } else {
        li.appendChild(jsonField(t("auto.trigger_options"), tr.options, "trigger.options", "trigger.options", null, function (v) {
          if (v === undefined) { delete tr.options; } else { tr.options = v; }
        }, "", true));
      }
    }
    li.appendChild(el("div", {class: "node-problems", dataset: {problems: "trigger"}}));
    return li;
  }

  // triggerOptions edits trigger.options field by field, as a step's
  // input: the options' values are plain (no templates: nothing is known
  // before the trigger fires).
  function triggerOptions(tr, info) {
    var fs = el("fieldset", {class: "input-form trigger-options", dataset: {path: "trigger.options"}}, [el("legend", {text: t("auto.trigger_options_legend")})]);
    var holder = {get: function () { return tr.options; }, ensure: function () { if (!isObj(tr.options)) { tr.options = {}; } return tr.options; }};
    info.options.forEach(function (f) {
      if (f.name === "interval" && info.poll) {
        // The kind's own interval is the default; the minimum is said.
        var hint = [lbl(f.hint), tf("auto.trigger_every", info.every || 60, info.min_every || 10)].filter(Boolean).join(" ");
        f = Object.assign({}, f, {hint: {ru: hint, en: hint}});
      }
      fs.appendChild(fieldEditor(holder, f, "trigger.options." + f.name, "trigger", null));
    });
    return fs;
  }

  function entitySelect(tr, optional) {
    var opts = (boot.entities || []).map(function (e) { return {value: e.name, label: e.label}; });
    if (optional) { opts.unshift({value: "", label: t("auto.no_record")}); }
    return selectControl({options: opts, value: tr.entity || "", key: "trigger.entity", path: "trigger.entity",
      onChange: function (v) {
        if (v) { tr.entity = v; } else { delete tr.entity; }
        delete tr.fields;
        delete tr.changed_to;
        changed();
        render("trigger.entity");
      }});
  }

  function crmEventFields(li, tr) {
    li.appendChild(fieldBox(t("auto.entity"), entitySelect(tr, false)));
    var acts = el("fieldset", {class: "checks", dataset: {path: "trigger.actions"}}, [el("legend", {text: t("auto.event_actions")})]);
    (boot.event_actions || []).forEach(function (a) {
      acts.appendChild(checkControl(a.label, (tr.actions || []).indexOf(a.name) >= 0, "trigger.actions." + a.name, "", function (on) {
        var list = (tr.actions || []).filter(function (x) { return x !== a.name; });
        if (on) { list.push(a.name); }
        list.sort(function (x, y) { return eventOrder(x) - eventOrder(y); });
        if (list.length) { tr.actions = list; } else { delete tr.actions; }
        changed();
      }));
    });
    acts.appendChild(el("span", {class: "hint", text: t("auto.event_actions_hint")}));
    li.appendChild(acts);

    var fields = recordFields(tr.entity).filter(function (f) { return f.type !== "object" && f.type !== "list"; });
    var chosen = tr.fields || [];
    var det = foldable("trigger-fields", "trigger.fields#open", chosen.length > 0, t("auto.only_fields") + (chosen.length ? " (" + chosen.length + ")" : ""));
    var grid = el("fieldset", {class: "checks grid-checks", dataset: {path: "trigger.fields"}}, [el("legend", {class: "sr", text: t("auto.only_fields")})]);
    fields.forEach(function (f) {
      grid.appendChild(checkControl(lbl(f.label) || f.name, chosen.indexOf(f.name) >= 0, "trigger.fields." + f.name, "", function (on) {
        var list = (tr.fields || []).filter(function (x) { return x !== f.name; });
        if (on) { list.push(f.name); }
        if (list.length) { tr.fields = list; } else { delete tr.fields; }
        changed();
      }));
    });
    det.appendChild(grid);
    li.appendChild(det);

    // changed_to: the fields that must have changed to these values.
    var ct = el("fieldset", {class: "changed-to", dataset: {path: "trigger.changed_to"}}, [el("legend", {text: t("auto.changed_to")})]);
    var pairs = Object.keys(tr.changed_to || {});
    var fieldOpts = [{value: "", label: "—"}].concat(fields.map(function (f) { return {value: f.name, label: (lbl(f.label) || f.name) + " (" + f.name + ")"}; }));
    pairs.forEach(function (name, n) {
      var row = el("div", {class: "pair"});
      var opts = fieldOpts.slice();
      if (!fields.some(function (f) { return f.name === name; })) { opts.push({value: name, label: name}); }
      row.appendChild(fieldBox(t("auto.field"), selectControl({options: opts, value: name, key: "trigger.changed_to." + n + ".field",
        onChange: function (v) {
          var m = {};
          Object.keys(tr.changed_to).forEach(function (k) { m[k === name ? v : k] = tr.changed_to[k]; });
          if (!v) { delete m[""]; }
          tr.changed_to = m;
          changed();
          render("trigger.changed_to." + n + ".field");
        }})));
      var val = tr.changed_to[name];
      row.appendChild(fieldBox(t("auto.changed_value"), textControl({value: isObj(val) || Array.isArray(val) ? JSON.stringify(val) : val,
        key: "trigger.changed_to." + n + ".value", path: "trigger.changed_to." + name, label: t("auto.changed_value"),
        onInput: function (v) { tr.changed_to[name] = v; changed(); }})));
      row.appendChild(button(t("auto.remove"), {aria: t("auto.remove") + ": " + name, key: "trigger.changed_to." + n + ".remove", onClick: function () {
        delete tr.changed_to[name];
        if (!Object.keys(tr.changed_to).length) { delete tr.changed_to; }
        changed();
        render(["trigger.changed_to.add"]);
      }}));
      ct.appendChild(row);
    });
    ct.appendChild(button(t("auto.changed_add"), {key: "trigger.changed_to.add", onClick: function () {
      tr.changed_to = tr.changed_to || {};
      var free = fields.filter(function (f) { return !(f.name in tr.changed_to); })[0];
      tr.changed_to[free ? free.name : "stage_id"] = "";
      changed();
      render("trigger.changed_to." + (Object.keys(tr.changed_to).length - 1) + ".value");
    }}));
    li.appendChild(ct);
  }
  function eventOrder(a) {
    var list = (boot.event_actions || []).map(function (x) { return x.name; });
    return list.indexOf(a);
  }

  var cronTimer = null;
  function scheduleFields(li, tr) {
    var out = el("p", {class: "hint next-fires", id: "next-fires", "aria-live": "polite"});
    var update = function () {
      clearTimeout(cronTimer);
      cronTimer = setTimeout(function () {
        api("GET", "/automation/cron?cron=" + encodeURIComponent(tr.cron || "") + "&tz=" + encodeURIComponent(tr.tz || "")).then(function (res) {
          if (!res.body) { return; }
          out.textContent = res.body.error ? t("auto.cron_bad") + ": " + res.body.error : t("auto.next_fires") + ": " + res.body.next.join("; ");
        });
      }, 300);
    };
    li.appendChild(fieldBox(t("auto.cron"), textControl({value: tr.cron, key: "trigger.cron", path: "trigger.cron", label: t("auto.cron"),
      onInput: function (v) { tr.cron = v.trim(); changed(); update(); }}), {hint: t("auto.cron_hint"), required: true}));
    var listID = uid("tz");
    li.appendChild(fieldBox(t("auto.tz"), textControl({value: tr.tz || "", key: "trigger.tz", path: "trigger.tz", label: t("auto.tz"),
      list: listID, options: boot.time_zones || [], placeholder: "Europe/Moscow",
      onInput: function (v) { if (v.trim()) { tr.tz = v.trim(); } else { delete tr.tz; } changed(); update(); }})));
    li.appendChild(out);
    update();
  }

  function webhookFields(li) {
    var saved = boot.webhook_url && boot.definition && boot.definition.trigger && boot.definition.trigger.type === "webhook";
    if (!saved) {
      li.appendChild(el("p", {class: "hint", text: t("auto.hook_after_save")}));
      return;
    }
    var input = el("input", {id: uid("u"), readonly: true, value: boot.webhook_url, class: "hook-url", dataset: {key: "trigger.hook_url"}});
    var msg = el("span", {class: "hint", role: "status"});
    li.appendChild(fieldBox(t("auto.hook_url"), el("div", {class: "with-picker"}, [input,
      button(t("auto.copy"), {key: "trigger.hook_copy", onClick: function () {
        var done = function () { msg.textContent = t("auto.copied_url"); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { input.select(); document.execCommand("copy"); done(); });
        } else {
          input.select();
          document.execCommand("copy");
          done();
        }
      }})]), {hint: t("auto.hook_hint")}));
    li.appendChild(el("p", {}, [button(t("auto.hook_new"), {key: "trigger.hook_new", onClick: function () {
      if (!window.confirm(t("auto.hook_new_confirm"))) { return; }
      api("POST", "/api/v1/bundles/" + boot.id + "/webhook-url").then(function (res) {
        if (res.status === 200 && res.body) {
          boot.webhook_url = res.body.webhook_url;
          input.value = boot.webhook_url;
          msg.textContent = t("auto.hook_rotated");
        } else {
          msg.textContent = apiMessage(res);
        }
      });
    }}), " ", msg]));
  }

  // ------------------------------------------------------------ conditions

  // groupEditor edits a group of conditions in place: all or any, rows
  // of value · operator · argument, nested groups.
  function groupEditor(cond, path, key, pick, depth, onRemove, legend) {
    var mode = cond.any ? "any" : "all";
    var items = cond[mode] || (cond[mode] = []);
    var fs = el("fieldset", {class: "cond-group depth-" + depth, dataset: {path: path}}, [el("legend", {text: legend})]);
    fs.appendChild(fieldBox(t("auto.group_mode"), selectControl({options: [{value: "all", label: t("auto.group_all")}, {value: "any", label: t("auto.group_any")}],
      value: mode, key: key + ".mode", onChange: function (v) {
        cond[v] = items;
        delete cond[v === "all" ? "any" : "all"];
        changed();
        render(key + ".mode");
      }}), {cls: "inline-field"}));
    items.forEach(function (c, j) {
      var p = path + "." + mode + "[" + j + "]";
      var k = key + "." + j;
      var remove = function () {
        items.splice(j, 1);
        changed();
        render([key + "." + Math.max(0, j - 1) + ".value", key + ".add"]);
        announce(t("auto.removed"));
      };
      if (c.all || c.any) {
        fs.appendChild(groupEditor(c, p, k, pick, depth + 1, remove, t("auto.subgroup")));
      } else {
        fs.appendChild(condRow(c, p, k, pick, remove, j + 1));
      }
    });
    if (!items.length) { fs.appendChild(el("p", {class: "hint", text: t("auto.group_empty")})); }
    var tools = el("div", {class: "tools"}, [button(t("auto.cond_add"), {key: key + ".add", onClick: function () {
      items.push({value: "", op: "eq", arg: ""});
      changed();
      render(key + "." + (items.length - 1) + ".value");
    }})]);
    if (depth < 3) {
      tools.appendChild(button(t("auto.group_add"), {key: key + ".addgroup", onClick: function () {
        items.push({any: [{value: "", op: "eq", arg: ""}]});
        changed();
        render(key + "." + (items.length - 1) + ".0.value");
      }}));
    }
    if (onRemove) { tools.appendChild(button(t("auto.group_remove"), {cls: "danger small", key: key + ".remove", onClick: onRemove})); }
    fs.appendChild(tools);
    return fs;
  }

  var noArg = {empty: true, not_empty: true};

  function condRow(c, path, key, pick, onRemove, n) {
    var row = el("div", {class: "cond-row", role: "group", "aria-label": tf("auto.cond_n", n)});
    row.appendChild(fieldBox(t("auto.cond_value"), textControl({value: valueText(c.value), key: key + ".value", path: path + ".value",
      label: t("auto.cond_value") + " " + n, pick: pick, onInput: function (v) { c.value = v; changed(); }}), {cls: "grow"}));
    var ops = (boot.ops || []).map(function (o) { return {value: o.name, label: o.label}; });
    var argBox;
    row.appendChild(fieldBox(t("auto.cond_op"), selectControl({options: ops, value: c.op || "eq", key: key + ".op", path: path + ".op",
      onChange: function (v) {
        c.op = v;
        if (noArg[v]) { delete c.arg; } else if (c.arg === undefined && v !== "changed") { c.arg = ""; }
        argBox.hidden = !!noArg[v];
        changed();
      }})));
    argBox = fieldBox(t("auto.cond_arg"), textControl({value: Array.isArray(c.arg) ? c.arg.join(", ") : valueText(c.arg), key: key + ".arg",
      path: path + ".arg", label: t("auto.cond_arg") + " " + n, pick: pick, onInput: function (v) { c.arg = argValue(c.op, v); changed(); }}),
      {cls: "grow", hint: c.op === "in" || c.op === "not_in" ? t("auto.cond_list_hint") : ""});
    argBox.hidden = !!noArg[c.op];
    row.appendChild(argBox);
    row.appendChild(button(t("auto.remove"), {cls: "danger small", aria: tf("auto.cond_remove", n), key: key + ".remove", onClick: onRemove}));
    return row;
  }
  function valueText(v) {
    if (v === undefined || v === null) { return ""; }
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  // argValue reads an argument: a list for in and not_in (comma
  // separated, or JSON), the text otherwise.
  function argValue(op, v) {
    if ((op === "in" || op === "not_in") && v.indexOf("{{") < 0) {
      var s = v.trim();
      if (s.charAt(0) === "[") {
        try { return JSON.parse(s); } catch (e) { return v; }
      }
      return s ? s.split(",").map(function (x) { return x.trim(); }).filter(Boolean) : [];
    }
    return v;
  }

  function filtersCard() {
    var hid = uid("h");
    var li = el("li", {class: "node node-filters", id: "node-filters", "aria-labelledby": hid});
    li.appendChild(el("h2", {id: hid, text: t("auto.filters")}));
    li.appendChild(el("p", {class: "hint", text: t("auto.filters_hint")}));
    li.appendChild(groupEditor(def.filters, "filters", "filters", sourcesBefore(-1), 0, null, t("auto.filters_group")));
    li.appendChild(el("div", {class: "node-problems", dataset: {problems: "filters"}}));
    return li;
  }

  // ------------------------------------------------------------ steps

  function stepCard(s, i) {
    var desc = actionByName[s.action];
    var hid = uid("h");
    var base = "step:" + s._uid;
    var li = el("li", {class: "node node-step", id: "step-" + (i + 1), "aria-labelledby": hid, dataset: {step: String(i)}});
    var title = el("h2", {id: hid, tabindex: "-1", dataset: {key: base + ":title"}},
      [tf("auto.step_n", i + 1) + ": " + (desc ? lbl(desc.label) : s.action), " ", el("code", {class: "hint", text: s.action})]);
    var name = s.name || (desc ? lbl(desc.label) : s.action);
    var tools = el("div", {class: "step-tools"}, [
      button("↑", {aria: t("auto.step_up") + ": " + name, title: t("auto.step_up"), disabled: i === 0, key: base + ":up", onClick: function () { moveStep(i, -1); }}),
      button("↓", {aria: t("auto.step_down") + ": " + name, title: t("auto.step_down"), disabled: i === def.steps.length - 1, key: base + ":down", onClick: function () { moveStep(i, 1); }}),
      button(t("auto.step_remove"), {cls: "danger small", aria: t("auto.step_remove") + ": " + name, key: base + ":remove", onClick: function () { removeStep(i); }})
    ]);
    li.appendChild(el("div", {class: "step-head"}, [title, tools]));
    if (desc && lbl(desc.hint)) { li.appendChild(el("p", {class: "hint", text: lbl(desc.hint)})); }
    li.appendChild(el("div", {class: "node-problems", dataset: {problems: "step"}}));
    var idRow = el("div", {class: "grid2"});
    idRow.appendChild(fieldBox(t("auto.step_id"), textControl({value: s.id, key: base + ":id", path: "id", label: t("auto.step_id"),
      onInput: function (v) { s.id = v.trim(); changed(); }}), {hint: t("auto.step_id_hint"), required: true}));
    idRow.appendChild(fieldBox(t("auto.step_name"), textControl({value: s.name, key: base + ":name", path: "name", label: t("auto.step_name"),
      onInput: function (v) { if (v) { s.name = v; } else { delete s.name; } changed(); }})));
    li.appendChild(idRow);
    li.appendChild(fieldBox(t("auto.step_action"), actionSelect(s, base, i), {hint: t("auto.step_action_hint")}));
    if (desc && desc.connection) { li.appendChild(connectionField(s, desc.connection, base)); }
    var pick = sourcesBefore(i);
    if (!desc) {
      li.appendChild(el("p", {class: "error", text: tf("auto.action_unknown", s.action)}));
      li.appendChild(jsonField(t("auto.input_json"), s.input, "input", base + ":input", pick, function (v) {
        if (v === undefined) { delete s.input; } else { s.input = v; }
      }));
    } else {
      li.appendChild(inputForm(s, desc, base, pick));
      if (desc.duplicates && desc.duplicates.length) { li.appendChild(duplicatesBox(s, desc, base)); }
    }
    li.appendChild(fieldBox(t("auto.on_error"), selectControl({options: [{value: "stop", label: t("auto.on_error_stop")}, {value: "continue", label: t("auto.on_error_continue")}],
      value: s.on_error || "stop", key: base + ":on_error", path: "on_error",
      onChange: function (v) { if (v === "stop") { delete s.on_error; } else { s.on_error = v; } changed(); }})));
    // An empty group until the first condition is added (collect leaves
    // it out).
    var when = s.when || (s.when = {all: []});
    var hasWhen = (when.all || when.any || []).length > 0;
    var det = foldable("step-when", base + "#when", hasWhen, t("auto.when") + (hasWhen ? " ✓" : ""));
    det.appendChild(el("p", {class: "hint", text: t("auto.when_hint")}));
    det.appendChild(groupEditor(when, "when", base + ":when", pick, 0, null, t("auto.when")));
    li.appendChild(det);
    return li;
  }

  // connectionField picks the saved connection of the type the step's
  // action works with: the step's "connection". None chosen, the action
  // takes its account from the input (email.send: smtp_account or smtp).
  // An action may take a connection of several types ("zadarma|asterisk|
  // mango"): the select lists the saved connections of each.
  function connectionField(s, spec, base, path, hint) {
    var types = spec.split("|"), list = [];
    types.forEach(function (ty) { list = list.concat(connsByType[ty] || []); });
    var opts = [{value: "", label: t("auto.step_conn_none")}].concat(list.map(function (c) {
      return {value: String(c.id), label: c.name + " (" + (types.length > 1 ? c.type + ", " : "") + "№ " + c.id + ")"};
    }));
    if (s.connection && !list.some(function (c) { return c.id === s.connection; })) {
      opts.push({value: String(s.connection), label: tf("auto.step_conn_missing", s.connection)});
    }
    var sel = selectControl({options: opts, value: s.connection ? String(s.connection) : "", key: base + ":connection", path: path || "connection",
      onChange: function (v) {
        var n = parseInt(v, 10);
        if (n > 0) {
          s.connection = n;
          // The input's own "connection" would name a second one.
          if (isObj(s.input) && s.input.connection !== undefined) { delete s.input.connection; }
        } else {
          delete s.connection;
        }
        changed();
        // The fields drawn anew suggest this connection's dictionaries.
        render(base + ":connection");
      }});
    sel.dataset.connType = spec;
    var box = fieldBox(t("auto.step_conn"), sel, {hint: list.length ? (hint || t("auto.step_conn_hint")) : t("auto.step_conn_empty")});
    box.classList.add("step-connection");
    box.appendChild(el("p", {class: "tools"}, [
      el("a", {href: "/admin/connections/new?type=" + encodeURIComponent(types[0]), target: "_blank", rel: "noopener", class: "conn-new",
        text: t("auto.step_conn_new")}), " ",
      button(t("auto.step_conn_reload"), {key: base + ":connection-reload", onClick: function () {
        loadConnections(types).then(function () { render(base + ":connection"); });
      }})]));
    return box;
  }

  // loadConnections fetches the saved connections of the types given.
  function loadConnections(types) {
    return Promise.all(types.map(function (type) {
      return api("GET", "/api/v1/connections?type=" + encodeURIComponent(type)).then(function (res) {
        connsByType[type] = res.status === 200 && res.body && Array.isArray(res.body.items) ? res.body.items : [];
      });
    }));
  }

  // actionSelect changes a step's action in place, its groups as the
  // step chooser shows them; an action not known here stays selectable.
  function actionSelect(s, base, i) {
    var groups = {}, order = [];
    actions.forEach(function (a) {
      if (!groups[a.group]) { groups[a.group] = []; order.push(a.group); }
      groups[a.group].push(a);
    });
    var kids = order.map(function (g) {
      return el("optgroup", {label: (boot.groups || {})[g] || g}, groups[g].map(function (a) {
        return el("option", {value: a.name, text: lbl(a.label) + " — " + a.name});
      }));
    });
    if (!actionByName[s.action]) { kids.unshift(el("option", {value: s.action, text: s.action})); }
    var sel = el("select", {id: uid("s"), dataset: {path: "action", key: base + ":action"},
      onchange: function () { changeAction(i, sel.value); }}, kids);
    sel.value = s.action;
    return sel;
  }

  // changeAction gives step i another action, keeping what of its input
  // the new action also takes (the same field names) and its duplicate
  // handling where the new action has one.
  function changeAction(i, name) {
    var s = def.steps[i];
    var a = actionByName[name];
    if (!a || s.action === name) { return; }
    // A saved connection is of the type the old action worked with.
    if (s.connection && a.connection !== (actionByName[s.action] || {}).connection) { delete s.connection; }
    s.action = name;
    if (isObj(s.input) && !a.free_input) {
      var keep = {};
      (a.input || []).forEach(function (f) { if (Object.prototype.hasOwnProperty.call(s.input, f.name)) { keep[f.name] = s.input[f.name]; } });
      s.input = keep;
    }
    if (s.duplicates) {
      var keys = a.duplicates || [];
      var by = (s.duplicates.by || []).filter(function (k) { return keys.indexOf(k) >= 0; });
      if (by.length) { s.duplicates.by = by; } else { delete s.duplicates; }
    }
    changed();
    render("step:" + s._uid + ":action");
    announce(tf("auto.step_action_changed", lbl(a.label)));
  }

  function moveStep(i, d) {
    var j = i + d;
    if (j < 0 || j >= def.steps.length) { return; }
    var s = def.steps.splice(i, 1)[0];
    def.steps.splice(j, 0, s);
    changed();
    var base = "step:" + s._uid;
    render([base + (d < 0 ? ":up" : ":down"), base + (d < 0 ? ":down" : ":up"), base + ":title"]);
    announce(tf("auto.step_moved", j + 1));
  }

  function removeStep(i) {
    var s = def.steps.splice(i, 1)[0];
    changed();
    var next = def.steps[i] || def.steps[i - 1];
    render(next ? ["step:" + next._uid + ":title"] : ["add-step"]);
    announce(tf("auto.step_removed", s.id || s.action));
  }

  // inputForm is a step's input, generated from its action's fields.
  function inputForm(s, desc, base, pick) {
    if (s.input === undefined || s.input === null) { s.input = {}; }
    var fs = el("fieldset", {class: "input-form", dataset: {path: "input"}}, [el("legend", {text: t("auto.input")})]);
    if (!isObj(s.input)) {
      fs.appendChild(jsonField(t("auto.input_json"), s.input, "input", base + ":input", pick, function (v) { s.input = v === undefined ? {} : v; }));
      return fs;
    }
    var holder = {get: function () { return s.input; }, ensure: function () { return s.input; }};
    // The first fields, the required ones and those with a value show;
    // the rest wait under "more fields" (a CRM record has dozens).
    var more = [];
    (desc.input || []).map(function (f) { return withDictionary(s, desc, f); }).forEach(function (f, n) {
      if (n < 8 || f.required || s.input[f.name] !== undefined) {
        fs.appendChild(fieldEditor(holder, f, "input." + f.name, base, pick));
      } else {
        more.push(f);
      }
    });
    if (more.length) {
      var det = foldable("more-fields", base + "#more", false, tf("auto.more_fields", more.length));
      more.forEach(function (f) { det.appendChild(fieldEditor(holder, f, "input." + f.name, base, pick)); });
      fs.appendChild(det);
    }
    var known = {};
    (desc.input || []).forEach(function (f) { known[f.name] = true; });
    var extra = {};
    Object.keys(s.input).forEach(function (k) { if (!known[k]) { extra[k] = s.input[k]; } });
    if (desc.free_input || Object.keys(extra).length) {
      fs.appendChild(jsonField(t("auto.extra_fields"), Object.keys(extra).length ? extra : undefined, "input", base + ":extra", pick, function (v) {
        Object.keys(s.input).forEach(function (k) { if (!known[k]) { delete s.input[k]; } });
        if (isObj(v)) { Object.keys(v).forEach(function (k) { s.input[k] = v[k]; }); }
      }, t("auto.extra_hint"), true));
    }
    return fs;
  }

  // dictFields name the input fields a connection's refreshed
  // dictionary fills, by connection type: the dictionary and the key of
  // its entries that is the value ("" for plain strings).
  var dictFields = {
    retailcrm: {status: ["statuses", "code"], orderType: ["order_types", "code"], site: ["sites", "code"]},
    moysklad: {state: ["states", "name"], organization: ["organizations", "id"]},
    calltouch: {status: ["statuses", ""], funnel: ["funnels", ""]}
  };

  // withDictionary offers a field the entries of the dictionary of the
  // connection chosen for the step — that one only: another account of
  // the same type has other statuses. Choosing another connection draws
  // the step anew, and with it the entries.
  function withDictionary(s, desc, f) {
    if (!s.connection || !desc.connection || (f.enum && f.enum.length) || f.type !== "string") { return f; }
    var conn = null, type = "";
    desc.connection.split("|").forEach(function (ty) {
      (connsByType[ty] || []).forEach(function (c) { if (c.id === s.connection) { conn = c; type = ty; } });
    });
    var spec = conn && dictFields[type] && dictFields[type][f.name];
    var entries = spec && conn.dictionaries && conn.dictionaries[spec[0]];
    if (!Array.isArray(entries) || !entries.length) { return f; }
    var values = [];
    entries.forEach(function (e) {
      var v = spec[1] ? (isObj(e) ? e[spec[1]] : undefined) : e;
      if (typeof v === "number") { v = String(v); }
      if (typeof v === "string" && v !== "" && values.indexOf(v) < 0) { values.push(v); }
    });
    if (!values.length) { return f; }
    var g = {};
    Object.keys(f).forEach(function (k) { g[k] = f[k]; });
    g.enum = values;
    return g;
  }

  // fieldEditor is the control of one described field, by its type.
  function fieldEditor(holder, f, path, base, pick) {
    var cur = holder.get() ? holder.get()[f.name] : undefined;
    var label = lbl(f.label) || f.name;
    var key = base + ":" + path;
    var set = function (v) {
      if (v === undefined || v === "") {
        var o = holder.get();
        if (o) { delete o[f.name]; }
      } else {
        holder.ensure()[f.name] = v;
      }
      changed();
    };
    var hint = lbl(f.hint);
    var opts = {required: f.required, hint: hint};
    if (f.type === "object" && f.fields && f.fields.length) { return objectEditor(holder, f, path, base, pick, cur, label); }
    if (f.type === "list") { return listEditor(holder, f, path, base, pick, cur, label); }
    if (f.type === "object" || f.type === "any") {
      return jsonField(label, cur, path, key, pick, set, hint, false, f.required);
    }
    if (f.type === "boolean") {
      var bopts = [{value: "", label: "—"}, {value: "true", label: t("auto.yes")}, {value: "false", label: t("auto.no")}];
      if (typeof cur === "string" && cur !== "" && cur !== "true" && cur !== "false") { bopts.push({value: cur, label: cur}); }
      return fieldBox(label, selectControl({options: bopts, value: cur === undefined ? "" : String(cur), key: key, path: path,
        onChange: function (v) { set(v === "true" ? true : v === "false" ? false : v); }}), opts);
    }
    return fieldBox(label, scalarControl(f, cur, path, key, pick, label, set), opts);
  }

  // Texts that are usually longer than a line get a textarea.
  var longTexts = {text: true, description: true, comments: true, comment: true, body: true, message: true, note: true};

  function scalarControl(f, cur, path, key, pick, label, set) {
    var listID = f.enum && f.enum.length ? uid("dl") : null;
    var multiline = f.type === "string" && !listID && !f.secret && longTexts[f.name];
    var ph = {date: "ГГГГ-ММ-ДД", datetime: "2026-12-05T14:30:00+03:00", integer: "0", number: "0", decimal: "0.00"}[f.type];
    if (lang === "en" && f.type === "date") { ph = "YYYY-MM-DD"; }
    return textControl({value: valueText(cur), key: key, path: path, label: label, pick: pick, secret: f.secret, required: f.required,
      multiline: multiline, rows: 2,
      list: listID, options: f.enum, placeholder: f.enum && f.enum.length ? f.enum.join(", ") : ph,
      inputmode: f.type === "integer" ? "numeric" : (f.type === "number" || f.type === "decimal") ? "decimal" : null,
      onInput: function (v) { set(typedValue(f.type, v)); }});
  }

  // typedValue keeps a number a number where the field takes one; a
  // template stays text.
  function typedValue(type, v) {
    if (v === "") { return ""; }
    if (type === "integer" && /^-?\d+$/.test(v.trim())) { return parseInt(v.trim(), 10); }
    if (type === "number" && /^-?\d+(\.\d+)?$/.test(v.trim())) { return parseFloat(v.trim()); }
    return v;
  }

  // modeToggle offers to write a list or an object as one expression.
  function modeToggle(key, expr, label) {
    return checkControl(t("auto.as_expression"), expr, key + "#mode", "", function (on) {
      modes[key] = on ? "expr" : "fields";
      render(key + "#mode");
    });
  }

  function objectEditor(holder, f, path, base, pick, cur, label) {
    var key = base + ":" + path;
    var expr = modes[key] ? modes[key] === "expr" : (cur !== undefined && !isObj(cur));
    var fs = el("fieldset", {class: "obj", dataset: {path: path}}, [el("legend", {}, [label, f.required ? el("span", {class: "req", "aria-hidden": "true", text: " *"}) : null])]);
    fs.appendChild(modeToggle(key, expr, label));
    var set = function (v) {
      if (v === undefined) { var o = holder.get(); if (o) { delete o[f.name]; } } else { holder.ensure()[f.name] = v; }
      changed();
    };
    if (expr) {
      fs.appendChild(jsonField(label, cur, path, key, pick, set, lbl(f.hint), false, f.required));
      return fs;
    }
    var sub = {
      get: function () { var o = holder.get(); return o && isObj(o[f.name]) ? o[f.name] : undefined; },
      ensure: function () { var o = holder.ensure(); if (!isObj(o[f.name])) { o[f.name] = {}; } return o[f.name]; }
    };
    f.fields.forEach(function (g) { fs.appendChild(fieldEditor(sub, g, path + "." + g.name, base, pick)); });
    return fs;
  }

  function listEditor(holder, f, path, base, pick, cur, label) {
    var key = base + ":" + path;
    var item = f.item || {type: "any"};
    var rowsOK = (item.type === "object" && item.fields && item.fields.length) ||
      ["string", "integer", "number", "decimal", "date", "datetime", "boolean"].indexOf(item.type) >= 0;
    var expr = !rowsOK || (modes[key] ? modes[key] === "expr" : (cur !== undefined && !Array.isArray(cur)));
    var fs = el("fieldset", {class: "list-field", dataset: {path: path}}, [el("legend", {}, [label, f.required ? el("span", {class: "req", "aria-hidden": "true", text: " *"}) : null])]);
    if (lbl(f.hint)) { fs.appendChild(el("p", {class: "hint", text: lbl(f.hint)})); }
    if (rowsOK) { fs.appendChild(modeToggle(key, expr, label)); }
    var set = function (v) {
      if (v === undefined) { var o = holder.get(); if (o) { delete o[f.name]; } } else { holder.ensure()[f.name] = v; }
      changed();
    };
    if (expr) {
      fs.appendChild(jsonField(label, cur, path, key, pick, set, "", false, f.required));
      return fs;
    }
    var arr = function () { var o = holder.get(); return o && Array.isArray(o[f.name]) ? o[f.name] : undefined; };
    var ensureArr = function () { var o = holder.ensure(); if (!Array.isArray(o[f.name])) { o[f.name] = []; } return o[f.name]; };
    // One row even for an empty list: typing into it makes the list.
    var rows = Math.max((arr() || []).length, 1);
    for (var j = 0; j < rows; j++) {
      fs.appendChild(listRow(f, item, j, path, key, base, pick, label, arr, ensureArr));
    }
    fs.appendChild(button(t("auto.row_add") + ": " + label, {key: key + "#add", onClick: function () {
      var a = ensureArr();
      if (!a.length) { a.push(item.type === "object" ? {} : ""); }
      a.push(item.type === "object" ? {} : "");
      changed();
      render([key + "[" + (a.length - 1) + "]#first", key + "#add"]);
    }}));
    return fs;
  }

  function listRow(f, item, j, path, key, base, pick, label, arr, ensureArr) {
    var rowPath = path + "[" + j + "]";
    var rowLabel = label + " " + (j + 1);
    var box = el("fieldset", {class: "list-row", dataset: {path: rowPath}}, [el("legend", {text: rowLabel})]);
    var remove = button(t("auto.row_remove"), {cls: "danger small", aria: t("auto.row_remove") + ": " + rowLabel, key: key + "[" + j + "]#remove", onClick: function () {
      var a = arr();
      if (a) { a.splice(j, 1); }
      changed();
      render([key + "[" + Math.max(0, j - 1) + "]#first", key + "#add"]);
    }});
    if (item.type === "object") {
      var holder = {
        get: function () { var a = arr(); return a && isObj(a[j]) ? a[j] : undefined; },
        ensure: function () { var a = ensureArr(); while (a.length <= j) { a.push({}); } if (!isObj(a[j])) { a[j] = {}; } return a[j]; }
      };
      item.fields.forEach(function (g, n) {
        var ed = fieldEditor(holder, g, rowPath + "." + g.name, base, pick);
        if (n === 0) {
          var first = ed.querySelector("input, select, textarea");
          if (first) { first.dataset.key = key + "[" + j + "]#first"; }
        }
        box.appendChild(ed);
      });
    } else {
      var a0 = arr();
      var setItem = function (v) {
        var a = ensureArr();
        while (a.length <= j) { a.push(""); }
        a[j] = v;
        changed();
      };
      var ctl = scalarControl(item, a0 ? a0[j] : undefined, rowPath, key + "[" + j + "]#first", pick, rowLabel, function (v) { setItem(v); });
      box.appendChild(fieldBox(rowLabel, ctl));
    }
    box.appendChild(remove);
    return box;
  }

  // jsonField edits a value as text: JSON when it starts with { or [, a
  // template or plain text otherwise.
  function jsonField(label, cur, path, key, pick, set, hint, objectOnly, required) {
    var text = cur === undefined || cur === null ? "" : (typeof cur === "string" ? cur : JSON.stringify(cur, null, 2));
    var err = el("p", {class: "error local-error", hidden: true});
    var ctl = textControl({value: text, key: key, path: path, label: label, pick: pick, multiline: true, rows: Math.min(8, Math.max(2, text.split("\n").length)),
      required: required, onInput: function (v) {
        var s = v.trim();
        err.hidden = true;
        if (s === "") { set(undefined); return; }
        if (s.charAt(0) === "{" || s.charAt(0) === "[") {
          try {
            set(JSON.parse(s));
          } catch (e) {
            err.textContent = t("auto.not_json") + ": " + e.message;
            err.hidden = false;
          }
          return;
        }
        if (objectOnly) {
          err.textContent = t("auto.not_object");
          err.hidden = false;
          return;
        }
        set(v);
      }});
    var box = fieldBox(label, ctl, {hint: hint || t("auto.json_hint"), required: required});
    box.appendChild(err);
    return box;
  }

  function duplicatesBox(s, desc, base) {
    var d = s.duplicates || {by: [], then: ""};
    var fs = el("fieldset", {class: "dups", dataset: {path: "duplicates"}}, [el("legend", {text: t("auto.dups")})]);
    fs.appendChild(fieldBox(t("auto.dups_then"), selectControl({options: [{value: "", label: t("auto.dups_off")},
      {value: "skip", label: t("auto.dups_skip")}, {value: "update", label: t("auto.dups_update")}, {value: "create", label: t("auto.dups_create")}],
      value: d.then || "", key: base + ":dups.then", path: "duplicates.then", onChange: function (v) {
        d.then = v;
        if (v && !d.by.length) { d.by = [desc.duplicates[0]]; }
        s.duplicates = d;
        changed();
        render(base + ":dups.then");
      }})));
    var by = el("fieldset", {class: "checks", dataset: {path: "duplicates.by"}, disabled: d.then ? null : true}, [el("legend", {text: t("auto.dups_by")})]);
    desc.duplicates.forEach(function (k) {
      by.appendChild(checkControl(t("auto.dup." + k) === "auto.dup." + k ? k : t("auto.dup." + k), (d.by || []).indexOf(k) >= 0, base + ":dups.by." + k, "", function (on) {
        d.by = (d.by || []).filter(function (x) { return x !== k; });
        if (on) { d.by.push(k); }
        s.duplicates = d;
        changed();
      }));
    });
    fs.appendChild(by);
    return fs;
  }

  // ------------------------------------------------------------ adding steps

  function addStepNode() {
    var li = el("li", {class: "node node-add"});
    var btn = el("button", {type: "button", id: "add-step", "aria-haspopup": "dialog", "aria-expanded": "false", dataset: {key: "add-step"},
      onclick: function () { toggleChooser(li, btn); }}, ["+ " + t("auto.step_add")]);
    li.appendChild(btn);
    if (!def.steps.length) { li.appendChild(el("p", {class: "hint", text: t("auto.no_steps")})); }
    return li;
  }

  function toggleChooser(li, btn) {
    var open = li.querySelector(".chooser");
    if (open) {
      open.remove();
      btn.setAttribute("aria-expanded", "false");
      btn.focus();
      return;
    }
    var qid = uid("q");
    var list = el("div", {class: "chooser-list"});
    var search = el("input", {type: "search", id: qid, autocomplete: "off", oninput: function () { fill(search.value); }});
    var box = el("div", {class: "chooser", role: "dialog", "aria-label": t("auto.choose_action")}, [
      el("label", {for: qid, text: t("auto.choose_action")}), search, list]);
    var close = function () {
      box.remove();
      btn.setAttribute("aria-expanded", "false");
      btn.focus();
    };
    function fill(q) {
      q = (q || "").toLowerCase();
      list.textContent = "";
      var groups = {};
      var order = [];
      actions.forEach(function (a) {
        var text = (lbl(a.label) + " " + a.name + " " + lbl(a.hint)).toLowerCase();
        if (q && text.indexOf(q) < 0) { return; }
        if (!groups[a.group]) { groups[a.group] = []; order.push(a.group); }
        groups[a.group].push(a);
      });
      order.forEach(function (g) {
        list.appendChild(el("h3", {text: (boot.groups || {})[g] || g}));
        list.appendChild(el("ul", {}, groups[g].map(function (a) {
          return el("li", {}, [el("button", {type: "button", class: "pick", dataset: {action: a.name}, onclick: function () { addStep(a); }},
            [el("span", {class: "pick-label", text: lbl(a.label)}), " ", el("code", {text: a.name}),
              lbl(a.hint) ? el("span", {class: "pick-hint", text: lbl(a.hint)}) : null])]);
        })));
      });
      if (!order.length) { list.appendChild(el("p", {class: "hint", text: actions.length ? t("auto.pick_none") : t("auto.no_actions")})); }
    }
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { ev.preventDefault(); close(); return; }
      var opts = Array.prototype.slice.call(list.querySelectorAll("button.pick"));
      var i = opts.indexOf(document.activeElement);
      if (ev.key === "ArrowDown" && opts.length) { ev.preventDefault(); opts[Math.min(i + 1, opts.length - 1)].focus(); }
      else if (ev.key === "ArrowUp" && opts.length) { ev.preventDefault(); if (i <= 0) { search.focus(); } else { opts[i - 1].focus(); } }
      else if (ev.key === "Enter" && document.activeElement === search && opts.length) { ev.preventDefault(); opts[0].click(); }
    });
    fill("");
    li.appendChild(box);
    btn.setAttribute("aria-expanded", "true");
    search.focus();
  }

  function addStep(a) {
    var base = a.name.split(".").slice(-2).join("_").replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z_]/.test(base)) { base = "step_" + base; }
    var id = base, n = 2;
    var taken = function (x) { return def.steps.some(function (s) { return s.id === x; }); };
    while (taken(id)) { id = base + "_" + n++; }
    var s = withUID({id: id, action: a.name, input: {}});
    def.steps.push(s);
    changed();
    render("step:" + s._uid + ":id");
    announce(tf("auto.step_added", lbl(a.label)));
  }

  // ------------------------------------------------------------ collect

  // collect is the definition as the API takes it.
  function collect() {
    var d = clone(boot.definition) || {};
    var val = function (id) { var e = document.getElementById(id); return e ? e.value : ""; };
    var num = function (id) { var n = parseInt(val(id), 10); return isNaN(n) ? 0 : n; };
    var on = function (id) { var e = document.getElementById(id); return !!(e && e.checked); };
    d.name = val("b-name").trim();
    d.description = val("b-description").trim();
    d.active = on("b-active");
    d.self_trigger = on("b-self_trigger");
    d.max_depth = num("b-max_depth");
    d.concurrency = num("b-concurrency");
    d.max_attempts = num("b-max_attempts");
    d.order_key = val("b-order_key").trim();
    d.run_as_user_id = num("b-run_as");
    ["description", "self_trigger", "max_depth", "concurrency", "max_attempts", "order_key", "run_as_user_id"].forEach(function (k) {
      if (!d[k]) { delete d[k]; }
    });
    d.trigger = clone(def.trigger);
    var f = cleanCond(def.filters);
    if (f) { d.filters = f; } else { delete d.filters; }
    d.steps = def.steps.map(function (s) {
      var out = {id: s.id || "", action: s.action};
      if (s.name) { out.name = s.name; }
      if (s.input !== undefined) {
        var input = prune(clone(s.input));
        if (input !== undefined) { out.input = input; }
      }
      if (s.duplicates && s.duplicates.then) { out.duplicates = {by: (s.duplicates.by || []).slice(), then: s.duplicates.then}; }
      if (s.on_error && s.on_error !== "stop") { out.on_error = s.on_error; }
      if (s.connection) { out.connection = s.connection; }
      var w = cleanCond(s.when);
      if (w) { out.when = w; }
      return out;
    });
    return d;
  }

  // prune drops what the form left empty: empty objects and lists.
  function prune(v) {
    if (Array.isArray(v)) {
      var a = v.map(prune).filter(function (x) { return x !== undefined; });
      return a.length ? a : undefined;
    }
    if (isObj(v)) {
      var o = {};
      Object.keys(v).forEach(function (k) {
        var x = prune(v[k]);
        if (x !== undefined) { o[k] = x; }
      });
      return Object.keys(o).length ? o : undefined;
    }
    if (v === "") { return undefined; }
    return v;
  }

  function cleanCond(c) {
    if (!c) { return null; }
    var mode = c.any ? "any" : "all";
    var items = (c[mode] || []).map(function (x) {
      if (x.all || x.any) { return cleanCond(x); }
      var leaf = {value: x.value === undefined ? "" : x.value, op: x.op || "eq"};
      if (!noArg[leaf.op] && x.arg !== undefined && !(leaf.op === "changed" && x.arg === "")) { leaf.arg = x.arg; }
      return leaf;
    }).filter(Boolean);
    if (!items.length) { return null; }
    var out = {};
    out[mode] = items;
    return out;
  }

  // ------------------------------------------------------------ problems

  var validateTimer = null, validateSeq = 0;
  // data-validating marks a check scheduled or under way (its messages
  // are about to move the fields).
  function scheduleValidate() {
    clearTimeout(validateTimer);
    root.dataset.validating = "1";
    validateTimer = setTimeout(validate, 600);
  }
  function validate() {
    var n = ++validateSeq;
    root.dataset.validating = "1";
    return api("POST", "/api/v1/bundles/validate", collect()).then(function (res) {
      if (n !== validateSeq) { return; }
      delete root.dataset.validating;
      if (res.status === 204) { showProblems([]); }
      else if (res.status === 422 && res.body && res.body.error) { showProblems(res.body.error.details || [{field: res.body.error.field || "", message: res.body.error.message}]); }
      else { showProblems([{field: "", message: apiMessage(res)}]); }
    }, function (err) {
      // The server out of reach: say so, try again with the next change.
      if (n !== validateSeq) { return; }
      delete root.dataset.validating;
      document.getElementById("auto-status").textContent = t("auto.check_failed") + ": " + err.message;
    });
  }

  // translateProblem puts the engine's common messages in the user's
  // language; the rest stay as the engine wrote them.
  var problemTexts = [
    [/^required$/, "auto.pr.required"],
    [/^missing$/, "auto.pr.required"],
    [/^missing; (.*)$/, "auto.pr.missing"],
    [/^refers to unknown step "(.+)"$/, "auto.pr.unknown_step"],
    [/^refers to step "(.+)", which is not before it$/, "auto.pr.later_step"],
    [/^a bundle needs at least one step$/, "auto.pr.no_steps"],
    [/^"(.+)" is used by another step$/, "auto.pr.dup_id"],
    [/^"(.+)": use Latin letters, digits and _, starting with a letter$/, "auto.pr.bad_id"],
    [/^action (\S+) has no field "(.+)"$/, "auto.pr.no_field"],
    [/^filters see only the trigger, not steps$/, "auto.pr.filters_steps"],
    [/^empty group; add conditions or remove it$/, "auto.pr.empty_group"],
    [/^required: a saved (.+) connection$/, "auto.pr.trigger_conn"],
    [/^must be at least (\d+) seconds$/, "auto.pr.min_seconds"]
  ];
  function translateProblem(msg) {
    for (var i = 0; i < problemTexts.length; i++) {
      var m = problemTexts[i][0].exec(msg);
      if (m && texts[problemTexts[i][1]]) { return tf.apply(null, [problemTexts[i][1]].concat(m.slice(1))); }
    }
    return msg;
  }

  function findStepCard(step) {
    var cards = chainBox.querySelectorAll(".node-step");
    if (step.charAt(0) === "#") { return cards[parseInt(step.slice(1), 10) - 1] || null; }
    for (var i = 0; i < def.steps.length; i++) {
      if (def.steps[i].id === step) { return cards[i] || null; }
    }
    return null;
  }

  // findPath finds the control of a path in scope, else of its parent
  // path ("input.phones[0].value", "input.phones[0]", "input.phones").
  function findPath(scope, path, inStep) {
    var p = path;
    while (p) {
      var all = scope.querySelectorAll('[data-path="' + cssEscape(p) + '"]');
      for (var i = 0; i < all.length; i++) {
        if (inStep || !all[i].closest(".node-step")) { return all[i]; }
      }
      var cut = p.search(/(\[\d+\]|\.[^.[\]]+)$/);
      if (cut <= 0) { break; }
      p = p.slice(0, cut);
    }
    return null;
  }

  function showProblems(ps) {
    problems = ps || [];
    root.querySelectorAll(".auto-error").forEach(function (e) { e.remove(); });
    root.querySelectorAll("[aria-invalid]").forEach(function (e) {
      e.removeAttribute("aria-invalid");
      if (e.dataset.hint) { e.setAttribute("aria-describedby", e.dataset.hint); } else { e.removeAttribute("aria-describedby"); }
    });
    root.querySelectorAll(".has-problem").forEach(function (e) { e.classList.remove("has-problem"); });
    var listBox = document.getElementById("auto-problems");
    listBox.textContent = "";
    problems.forEach(function (p) {
      var field = p.field || "";
      var msg = p.message || "";
      // A path at the start of the message is more precise.
      var m = /^([A-Za-z_][\w]*(?:\.[\w]+|\[\d+\])*): (.*)$/.exec(msg);
      if (m && (m[1] === field || m[1].indexOf(field + ".") === 0 || m[1].indexOf(field + "[") === 0)) {
        field = m[1];
        msg = m[2];
      }
      msg = translateProblem(msg.replace(/^tmpl: /, ""));
      var card = p.step ? findStepCard(p.step) : null;
      var scope = card || root;
      var target = findPath(scope, field, !!card);
      var id = uid("err");
      var note = el("p", {class: "error auto-error", id: id}, [field ? el("code", {text: field}) : null, field ? ": " : "", msg]);
      if (target && target.matches("input, select, textarea")) {
        target.setAttribute("aria-invalid", "true");
        target.setAttribute("aria-describedby", ((target.dataset.hint || "") + " " + id).trim());
        var box = target.closest(".field") || target;
        box.insertAdjacentElement("afterend", note);
      } else if (target) {
        target.classList.add("has-problem");
        target.insertBefore(note, target.children[1] || null);
      } else if (card) {
        card.querySelector(".node-problems").appendChild(note);
      } else if (/^trigger/.test(field)) {
        chainBox.querySelector('[data-problems="trigger"]').appendChild(note);
      } else if (/^filters/.test(field)) {
        chainBox.querySelector('[data-problems="filters"]').appendChild(note);
      } else {
        document.getElementById("bundle-problems").appendChild(note);
      }
      if (card) { card.classList.add("has-problem"); }
      // A problem in a folded part unfolds it.
      for (var d = note.parentElement; d && d !== root; d = d.parentElement) {
        if (d.tagName === "DETAILS" && !d.open) { d.open = true; }
      }
      var where = p.step ? tf("auto.step_n", p.step.charAt(0) === "#" ? p.step.slice(1) : "«" + p.step + "»") + " · " : "";
      var link = el("a", {href: "#" + id, onclick: function (ev) {
        ev.preventDefault();
        var e = (target && target.matches("input, select, textarea")) ? target : document.getElementById(id);
        if (e) {
          if (!e.matches("input, select, textarea")) { e.setAttribute("tabindex", "-1"); }
          e.focus();
        }
      }}, [where + (field ? field + ": " : "") + msg]);
      listBox.appendChild(el("li", {}, [link]));
    });
    var st = document.getElementById("auto-status");
    st.textContent = problems.length ? tf("auto.n_problems", problems.length) : t("auto.no_problems");
    st.className = "auto-status " + (problems.length ? "bad" : "good");
  }

  // ------------------------------------------------------------ save

  var saveBtn = document.getElementById("auto-save");
  saveBtn.addEventListener("click", function () {
    saveBtn.disabled = true;
    var d = collect();
    var req = boot.id ? api("PUT", "/api/v1/bundles/" + boot.id, d) : api("POST", "/api/v1/bundles", d);
    req.then(function (res) {
      saveBtn.disabled = false;
      if ((res.status === 200 || res.status === 201) && res.body) {
        dirty = false;
        window.location.assign("/automation/" + res.body.id + "?flash=auto.saved");
        return;
      }
      if (res.status === 422 && res.body && res.body.error) {
        showProblems(res.body.error.details || [{field: res.body.error.field || "", message: res.body.error.message}]);
      } else {
        showProblems([{field: "", message: apiMessage(res)}]);
      }
      var st = document.getElementById("auto-status");
      st.textContent = t("auto.not_saved") + " " + st.textContent;
      var first = document.querySelector("#auto-problems a");
      if (first) { first.focus(); }
    }, function (err) {
      saveBtn.disabled = false;
      showProblems([{field: "", message: String(err)}]);
    });
  });

  // The server-rendered fields count as changes too.
  document.querySelectorAll(".auto-meta input, .auto-meta textarea, .auto-settings input, .auto-settings select").forEach(function (e) {
    e.addEventListener("input", changed);
    e.addEventListener("change", changed);
  });
  var orderKey = document.getElementById("b-order_key");
  trackCaret(orderKey);
  document.querySelector('[data-picker-for="b-order_key"]').addEventListener("click", function (ev) {
    openPicker(ev.currentTarget, orderKey, sourcesBefore(-1));
  });

  // ------------------------------------------------------------ test

  var testBox = document.getElementById("test-panel");
  function testSource() {
    var c = testBox.querySelector('input[name="test-src"]:checked');
    return c ? c.value : "record";
  }
  function showTestOptions() {
    var src = testSource();
    testBox.querySelectorAll(".test-opt").forEach(function (e) { e.hidden = e.dataset.test !== src; });
    var ev = document.getElementById("test-src-event");
    var isEvent = def.trigger.type === "crm.event";
    ev.disabled = !isEvent;
    if (!isEvent && ev.checked) {
      document.getElementById("test-src-" + (def.trigger.type === "manual" ? "record" : "raw")).checked = true;
      showTestOptions();
    }
    if (def.trigger.entity) { document.getElementById("test-entity").value = def.trigger.entity; }
  }
  testBox.addEventListener("change", function (ev) { if (ev.target.name === "test-src") { showTestOptions(); } });

  var testResult = document.getElementById("test-result");
  document.getElementById("test-go").addEventListener("click", function () {
    var src = testSource();
    var req = {definition: collect(), ignore_filters: document.getElementById("test-ignore").checked};
    testResult.textContent = t("auto.test_running");
    var ready = Promise.resolve(true);
    if (src === "event") {
      var acts = (def.trigger.actions || []).join(",");
      ready = api("GET", "/automation/last-event?entity=" + encodeURIComponent(def.trigger.entity || "") + "&actions=" + encodeURIComponent(acts)).then(function (res) {
        if (res.status !== 200 || !res.body) { testResult.textContent = apiMessage(res); return false; }
        req.event_id = res.body.event_id;
        return true;
      });
    } else if (src === "record") {
      req.entity = document.getElementById("test-entity").value;
      req.record_id = parseInt(document.getElementById("test-record").value, 10) || 0;
    } else if (src === "run") {
      req.run_id = parseInt(document.getElementById("test-run").value, 10) || 0;
    } else {
      try {
        req.trigger = JSON.parse(document.getElementById("test-raw").value);
        if (!isObj(req.trigger)) { throw new Error(t("auto.not_object")); }
      } catch (e) {
        testResult.textContent = t("auto.not_json") + ": " + e.message;
        return;
      }
    }
    ready.then(function (ok) {
      if (!ok) { return; }
      var url = boot.id ? "/api/v1/bundles/" + boot.id + "/test" : "/api/v1/bundles/test";
      return api("POST", url, req).then(function (res) {
        if (res.status !== 200 || !res.body) {
          if (res.status === 422 && res.body && res.body.error && res.body.error.details) { showProblems(res.body.error.details); }
          testResult.textContent = t("auto.test_failed") + ": " + apiMessage(res);
          return;
        }
        showTest(res.body);
      });
    });
  });

  function pre(v) { return el("pre", {class: "payload", text: JSON.stringify(v, null, 2)}); }

  function traceList(tr) {
    var text;
    if (tr.op === "all" || tr.op === "any") { text = t("auto.group_" + tr.op); }
    else if (!tr.op) { text = t("auto.no_filters"); }
    else {
      text = quote(tr.value) + " " + opLabel(tr.op) + ("arg" in tr ? " " + quote(tr.arg) : "");
    }
    var li = el("li", {class: tr.result ? "pass" : "fail"}, [el("span", {class: "mark", "aria-hidden": "true", text: tr.result ? "✓" : "✗"}), " ",
      el("span", {class: "sr", text: (tr.result ? t("auto.passed") : t("auto.not_passed")) + ": "}), text, tr.note ? el("span", {class: "hint", text: " (" + tr.note + ")"}) : null]);
    if (tr.items && tr.items.length) { li.appendChild(el("ul", {}, tr.items.map(traceList))); }
    return li;
  }
  function quote(v) { return v === undefined || v === null ? "«»" : typeof v === "string" ? "«" + v + "»" : JSON.stringify(v); }
  function opLabel(op) {
    var o = (boot.ops || []).filter(function (x) { return x.name === op; })[0];
    return o ? o.label : op;
  }

  function showTest(r) {
    testResult.textContent = "";
    testResult.appendChild(el("h3", {}, [t("auto.test_result") + ": ", el("span", {class: "st st-" + r.status, id: "test-status", text: t("auto.st." + r.status)})]));
    if (r.error) { testResult.appendChild(el("p", {class: "error", text: (r.error_step ? r.error_step + ": " : "") + r.error})); }
    testResult.appendChild(el("p", {id: "test-filters", text: t("auto.filters") + ": " + (r.filters_passed ? t("auto.passed") : t("auto.not_passed"))}));
    if (r.filter_trace) { testResult.appendChild(el("ul", {class: "trace"}, [traceList(r.filter_trace)])); }
    if (r.steps && r.steps.length) {
      testResult.appendChild(el("ol", {class: "run-steps"}, r.steps.map(function (st) {
        var res = (st.result || "").toLowerCase();
        var li = el("li", {class: "run-step res-" + res, dataset: {step: st.step_id}}, [
          el("div", {class: "run-step-head"}, [el("b", {text: st.step_id}), " ", el("code", {class: "hint", text: st.action}), " ",
            el("span", {class: "st st-" + res, text: t("auto.res." + res)}), " ", el("span", {class: "hint", text: (st.duration_ms || 0).toFixed(1) + " " + t("auto.ms")})])]);
        if (st.error) { li.appendChild(el("p", {class: "error", text: st.error})); }
        if (st.input !== undefined) { li.appendChild(el("details", {class: "json"}, [el("summary", {text: t("auto.input")}), pre(st.input)])); }
        if (st.output !== undefined) { li.appendChild(el("details", {class: "json", open: true}, [el("summary", {text: t("auto.output")}), pre(st.output)])); }
        return li;
      })));
    }
    if (r.trigger) { testResult.appendChild(el("details", {class: "json"}, [el("summary", {text: t("auto.trigger_data")}), pre(r.trigger)])); }
  }

  // ------------------------------------------------------------ start

  Promise.all([api("GET", "/api/v1/actions"), api("GET", "/api/v1/triggers")]).then(function (res) {
    if (res[0].status !== 200 || res[1].status !== 200) { throw new Error(apiMessage(res[0].status !== 200 ? res[0] : res[1])); }
    actions = res[0].body.items || [];
    triggers = res[1].body.items || [];
    actions.forEach(function (a) { actionByName[a.name] = a; });
    triggers.forEach(function (k) { triggerByType[k.type] = k; });
    var types = [];
    actions.concat(triggers).forEach(function (a) {
      (a.connection ? a.connection.split("|") : []).forEach(function (ty) { if (types.indexOf(ty) < 0) { types.push(ty); } });
    });
    return loadConnections(types);
  }).then(function () {
    render();
    showTestOptions();
    chainBox.addEventListener("change", showTestOptions);
    // A saved bundle shows its problems at once; a new one once it is
    // being edited.
    if (boot.id) { validate(); }
  }).catch(function (err) {
    chainBox.textContent = "";
    chainBox.appendChild(el("p", {class: "error", role: "alert", text: t("auto.load_failed") + ": " + err.message}));
  });
})();
