// Obmen UI: the little script there is. Kanban drag and drop sets the
// card's own stage select and submits its form, so dragging and the
// keyboard path (select + "Move") do the same request. The listeners sit
// on the document, so that cards htmx adds later ("show more") drag too.
document.addEventListener("DOMContentLoaded", function () {
  var dragged = null;
  document.addEventListener("dragstart", function (ev) {
    var card = ev.target.closest && ev.target.closest(".kcard");
    if (!card) { return; }
    dragged = card;
    ev.dataTransfer.setData("text/plain", card.dataset.id);
    ev.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (!col) { return; }
    ev.preventDefault();
    col.classList.add("over");
  });
  document.addEventListener("dragleave", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (col) { col.classList.remove("over"); }
  });
  document.addEventListener("drop", function (ev) {
    var col = ev.target.closest && ev.target.closest(".column");
    if (!col) { return; }
    ev.preventDefault();
    col.classList.remove("over");
    var id = ev.dataTransfer.getData("text/plain");
    var card = dragged || document.getElementById("deal-" + id);
    dragged = null;
    if (!card) { return; }
    var form = card.querySelector("form.move");
    form.querySelector("select").value = col.dataset.stage;
    form.requestSubmit();
  });
});

// In-place editing of a card's fields. The value is a button that fetches
// the field's input (htmx); Enter submits it (the form's own submit),
// leaving the field saves it, Escape or "Cancel" brings the value back
// unsaved. A refused value (422) or a record changed meanwhile (409)
// comes back as the input with the message beside it, so those answers
// are swapped in like a 200.
(function () {
  function inlineForm(el) { return el && el.closest ? el.closest("form.field-inline") : null; }
  function cancel(form) {
    if (form.dataset.done) { return; }
    form.dataset.done = "1";
    htmx.ajax("GET", form.dataset.cancel, {target: form, swap: "outerHTML"});
  }
  function focusLost() {
    var a = document.activeElement;
    return !a || a === document.body || !a.isConnected;
  }
  document.addEventListener("keydown", function (ev) {
    var form = inlineForm(ev.target);
    if (form && ev.key === "Escape") {
      ev.preventDefault();
      cancel(form);
    }
  });
  document.addEventListener("click", function (ev) {
    var form = inlineForm(ev.target);
    if (form && ev.target.closest(".cancel")) { cancel(form); }
  });
  document.addEventListener("submit", function (ev) {
    var form = inlineForm(ev.target);
    if (form) { form.dataset.done = "1"; }
  }, true);
  document.addEventListener("focusout", function (ev) {
    var form = inlineForm(ev.target);
    if (!form || form.dataset.done || !form.isConnected) { return; }
    if (ev.relatedTarget && form.contains(ev.relatedTarget)) { return; }
    form.requestSubmit();
  });
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var s = ev.detail.xhr.status;
    var t = ev.detail.target;
    if ((s === 422 || s === 409) && t && t.matches && t.matches(".field-inline")) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
  // Keep the keyboard where the user is: into the input that opened, back
  // to the value that was saved, unless the focus moved on meanwhile.
  document.addEventListener("htmx:load", function (ev) {
    var el = ev.detail.elt;
    if (!el.matches || !focusLost()) { return; }
    if (el.matches("form.field-inline")) {
      var inp = el.querySelector("input:not([type=hidden]), select, textarea");
      if (inp) { inp.focus(); }
    } else if (el.matches(".field-inline.view")) {
      el.querySelector("button.value").focus();
    }
  });
})();

// Calendar: an activity dragged to another day keeps its time of day; to
// an hour of the day view, starts at that hour. The drop fills the
// activity's own "move" form and submits it, the request the keyboard
// path (⇄, a date and time, "Move") makes. A click on an empty part of a
// day or an hour opens a new activity starting then (the "+" links are
// the keyboard's way).
(function () {
  var dragged = null;
  function slot(el) { return el && el.closest ? el.closest(".cal-slot") : null; }
  document.addEventListener("dragstart", function (ev) {
    var item = ev.target.closest && ev.target.closest(".ev[draggable]");
    if (!item) { return; }
    dragged = item;
    ev.dataTransfer.setData("text/plain", item.id);
    ev.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (ev) {
    var s = slot(ev.target);
    if (!s || !dragged) { return; }
    ev.preventDefault();
    s.classList.add("over");
  });
  document.addEventListener("dragleave", function (ev) {
    var s = slot(ev.target);
    if (s) { s.classList.remove("over"); }
  });
  document.addEventListener("drop", function (ev) {
    var s = slot(ev.target);
    if (!s) { return; }
    ev.preventDefault();
    s.classList.remove("over");
    var item = dragged || document.getElementById(ev.dataTransfer.getData("text/plain"));
    dragged = null;
    if (!item) { return; }
    var time = s.dataset.time || item.dataset.start.slice(11);
    var form = item.querySelector("form.cal-move-form");
    form.querySelector("input[name=start_at]").value = s.dataset.date + "T" + time;
    form.requestSubmit();
  });
  document.addEventListener("click", function (ev) {
    var s = slot(ev.target);
    if (!s || !s.dataset.new) { return; }
    if (ev.target.closest("a, button, input, select, textarea, summary, form, .ev, th")) { return; }
    window.location.href = s.dataset.new;
  });
})();

// The folded menu of a phone-width page; and the column names that a
// list's cells show when the table is laid out as cards.
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.getElementById("menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.closest("header").classList.toggle("open", open);
    });
  }
  labelCells(document);
  document.body.addEventListener("htmx:afterSwap", function (ev) { labelCells(ev.target.closest("table") || document); });
});
function labelCells(root) {
  var tables = root.matches && root.matches("table.list") ? [root] : root.querySelectorAll("table.list");
  Array.prototype.forEach.call(tables, function (t) {
    var heads = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    if (!heads.length) { return; }
    Array.prototype.forEach.call(t.querySelectorAll("tbody tr"), function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (td.tagName === "TD" && !td.hasAttribute("data-label") && heads[i]) { td.setAttribute("data-label", heads[i]); }
      });
    });
  });
}

// Record pickers: a field that links records (a deal's company, its
// contacts, an activity's record) is a search-as-you-type box. The form
// keeps the plain input of ids (it works without scripts); the script
// hides it, shows the chosen records by name and offers matches from
// /pick/<entity>?q= as the user types (arrows and Enter, or the mouse).
(function () {
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function setup(box) {
    if (box.dataset.ready) { return; }
    box.dataset.ready = "1";
    var input = box.querySelector("input[name]");
    var multi = box.dataset.multi === "1";
    var chosen = JSON.parse(box.dataset.chosen || "[]"); // [{id, title}]
    var form = box.closest("form");
    var id = input.id;
    input.id = id + "-ids";
    input.type = "hidden";
    var list = el("ul", {"class": "chips", "aria-live": "polite"});
    var search = el("input", {"type": "search", id: id, "role": "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": id + "-options", "autocomplete": "off", placeholder: box.dataset.hint || ""});
    var options = el("ul", {id: id + "-options", role: "listbox", "class": "pick-options", hidden: ""});
    box.append(list, search, options);
    var active = -1, found = [], timer = null, seq = 0;
    function entity() {
      if (box.dataset.refFrom && form) {
        var sel = form.querySelector("[name='" + box.dataset.refFrom + "']");
        return sel ? sel.value : "";
      }
      return box.dataset.ref;
    }
    function sync() {
      input.value = chosen.map(function (c) { return c.id; }).join(multi ? ", " : "");
      list.textContent = "";
      chosen.forEach(function (c, i) {
        var li = el("li", {"class": "chip"});
        var a = el("a", {href: "/e/" + (c.entity || entity()) + "/" + c.id}, c.title);
        var x = el("button", {type: "button", "class": "chip-x", "aria-label": (box.dataset.remove || "×") + ": " + c.title}, "×");
        x.addEventListener("click", function () { chosen.splice(i, 1); sync(); input.dispatchEvent(new Event("change", {bubbles: true})); search.focus(); });
        li.append(a, " ", x);
        list.append(li);
      });
      search.hidden = !multi && chosen.length > 0;
    }
    function close() { options.hidden = true; search.setAttribute("aria-expanded", "false"); active = -1; search.removeAttribute("aria-activedescendant"); }
    function show() {
      options.textContent = "";
      if (!found.length) {
        options.append(el("li", {"class": "pick-none"}, box.dataset.none || "—"));
      }
      found.forEach(function (f, i) {
        var li = el("li", {id: id + "-opt-" + i, role: "option", "aria-selected": i === active ? "true" : "false"}, f.title);
        if (f.hint) { li.append(el("span", {"class": "pick-hint"}, f.hint)); }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        options.append(li);
      });
      options.hidden = false;
      search.setAttribute("aria-expanded", "true");
      if (active >= 0) { search.setAttribute("aria-activedescendant", id + "-opt-" + active); }
    }
    function choose(i) {
      var f = found[i];
      if (!f) { return; }
      if (!multi) { chosen = []; }
      if (!chosen.some(function (c) { return c.id === f.id; })) { chosen.push({id: f.id, title: f.title, entity: entity()}); }
      search.value = "";
      close();
      sync();
      input.dispatchEvent(new Event("change", {bubbles: true}));
      (multi ? search : list.querySelector("a") || search).focus();
    }
    function query() {
      var ent = entity(), q = search.value.trim(), my = ++seq;
      if (!ent || !q) { close(); return; }
      fetch("/pick/" + encodeURIComponent(ent) + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (rows) { if (my !== seq) { return; } found = rows || []; active = found.length ? 0 : -1; show(); })
        .catch(function () {});
    }
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(query, 150); });
    search.addEventListener("keydown", function (ev) {
      if (options.hidden) {
        if (ev.key === "Backspace" && !search.value && chosen.length) { chosen.pop(); sync(); }
        return;
      }
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : found.length - 1)) % Math.max(found.length, 1);
        show();
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        choose(active);
      } else if (ev.key === "Escape") {
        close();
      }
    });
    search.addEventListener("blur", function () { setTimeout(close, 150); });
    if (box.dataset.refFrom && form) {
      var sel = form.querySelector("[name='" + box.dataset.refFrom + "']");
      if (sel) { sel.addEventListener("change", function () { chosen = []; sync(); }); }
    }
    sync();
  }
  function all(root) { Array.prototype.forEach.call((root || document).querySelectorAll(".ref-picker"), setup); }
  document.addEventListener("DOMContentLoaded", function () {
    all(document);
    document.body.addEventListener("htmx:afterSwap", function (ev) { all(ev.target); });
    // An outerHTML swap (the line items after a product is picked)
    // replaces its target: set up the pickers of what came in.
    document.body.addEventListener("htmx:load", function (ev) { all(ev.detail.elt); });
  });
})();

// The web-form editor: the field pickers offer the fields of the module
// chosen; a change of module refills them (a field the new module also
// has stays chosen). Without JavaScript the save names a field the module
// lacks and the page comes back with the new module's fields.
document.addEventListener("DOMContentLoaded", function () {
  var module = document.getElementById("wf-module");
  var body = document.querySelector("#wf-fields tbody[data-choices]");
  if (!module || !body) { return; }
  var all;
  try { all = JSON.parse(body.dataset.choices); } catch (e) { return; }
  module.addEventListener("change", function () {
    var choices = all[module.value] || [];
    Array.prototype.forEach.call(body.querySelectorAll("select.wf-pick"), function (sel) {
      var was = sel.value;
      while (sel.options.length > 1) { sel.remove(1); }
      choices.forEach(function (c) {
        var o = new Option(c.label, c.name);
        if (c.name === was) { o.selected = true; }
        sel.add(o);
      });
    });
  });
});

// The week grid's boxes carry their place as data attributes; they become
// CSS properties here, through the CSSOM, which the Content-Security-Policy
// allows (inline style attributes it does not).
(function () {
  function place(root) {
    if (!root || !root.querySelectorAll) return;
    var boxes = Array.prototype.slice.call(root.querySelectorAll(".wk-box[data-top]"));
    if (root.matches && root.matches(".wk-box[data-top]")) boxes.push(root);
    boxes.forEach(function (b) {
      ["top", "height", "lane", "lanes"].forEach(function (k) { b.style.setProperty("--" + k, b.dataset[k]); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    place(document);
    document.body.addEventListener("htmx:load", function (ev) { place(ev.detail.elt); });
  });
})();

// The template install form: a parameter mapped from a connection's
// dictionary (data-by-conn: connection id → entries) offers the entries
// of the connection chosen in its role's select (data-conn), and
// follows when another is chosen. A value the new connection lacks gives
// way to its first entry; with no entries at all the default stays.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-by-conn]").forEach(function (sel) {
    var conn = document.getElementById(sel.dataset.conn);
    var by;
    try { by = JSON.parse(sel.dataset.byConn || "{}"); } catch (e) { return; }
    if (!conn) { return; }
    conn.addEventListener("change", function () {
      var entries = by[conn.value] || [];
      var keep = sel.value;
      if (!entries.some(function (o) { return o.Value === keep; })) {
        keep = entries.length ? entries[0].Value : sel.dataset.default;
      }
      if (!entries.length && keep) { entries = [{Value: keep, Label: keep}]; }
      sel.replaceChildren();
      entries.forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o.Value;
        opt.textContent = o.Label && o.Label !== o.Value ? o.Label + " (" + o.Value + ")" : o.Value;
        opt.selected = o.Value === keep;
        sel.appendChild(opt);
      });
    });
  });
});
