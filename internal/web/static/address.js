// Address blocks (fieldset.addr): the city, street and house inputs offer
// suggestions from /address/suggest as the user types — the city (or
// region) first, then streets within the chosen city, then houses within
// the chosen street. Picking one fills the postcode, region, city, street
// and house (the flat stays the user's) and puts the ФИАС id and КЛАДР
// code of the deepest part picked into the block's hidden inputs, shown
// read-only below it. Typing over a picked part by hand drops its id (and
// those of the parts under it), so that no id names another address.
// Without scripts, or with nothing imported, the inputs are plain ones.
(function () {
  var levels = {city: "city", street: "street", house: "house"};
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function setup(box) {
    if (box.dataset.ready) { return; }
    box.dataset.ready = "1";
    var field = box.dataset.field;
    function input(part) { return box.querySelector("[name='" + field + "." + part + "']"); }
    var hid = {fias: input("fias_id"), kladr: input("kladr_id")};
    var shown = {fias: box.querySelector("[data-show=fias_id]"), kladr: box.querySelector("[data-show=kladr_id]")};
    // picked[level] is the {fias, kladr} of the part picked at that level:
    // region, city, street, house. The stored id belongs to the deepest
    // part the stored text has.
    var picked = {};
    // autoPost is the postcode the last pick put in (the stored one counts
    // as picked when the address has ids).
    var autoPost = hid.fias.value ? input("postcode").value : null;
    if (hid.fias.value) {
      // The server gives the ids of the parts the stored id lies in (from
      // the imported base); failing that, the id is the deepest part's.
      var lineage = null;
      try { lineage = JSON.parse(box.dataset.lineage || "null"); } catch (e) { lineage = null; }
      if (lineage) {
        ["region", "city", "street", "house"].forEach(function (k) {
          var r = lineage[k];
          if (r && r.fias_id) { picked[k] = {fias: r.fias_id, kladr: r.kladr_id}; }
        });
      } else {
        var deepest = input("house").value ? "house" : input("street").value ? "street" : "city";
        picked[deepest] = {fias: hid.fias.value, kladr: hid.kladr.value};
      }
    }
    function showIDs() {
      var ids = picked.house || picked.street || picked.city || picked.region || {fias: "", kladr: ""};
      hid.fias.value = ids.fias || "";
      hid.kladr.value = ids.kladr || "";
      shown.fias.textContent = ids.fias || box.dataset.none || "—";
      shown.kladr.textContent = ids.kladr || "—";
    }
    // Typed by hand: the part's id and those under it no longer hold.
    var under = {region: ["region", "city", "street", "house"], city: ["region", "city", "street", "house"], street: ["street", "house"], house: ["house"]};
    Object.keys(under).forEach(function (part) {
      input(part).addEventListener("input", function () {
        var had = under[part].some(function (l) { return picked[l]; });
        under[part].forEach(function (l) { delete picked[l]; });
        if (had) { showIDs(); }
      });
    });
    Object.keys(levels).forEach(function (part) { combo(part); });

    function combo(part) {
      var inp = input(part);
      var listID = inp.id + "-options";
      var list = el("ul", {id: listID, role: "listbox", "class": "pick-options", "aria-label": box.dataset.listLabel || "", hidden: ""});
      inp.after(list);
      inp.setAttribute("role", "combobox");
      inp.setAttribute("aria-autocomplete", "list");
      inp.setAttribute("aria-expanded", "false");
      inp.setAttribute("aria-controls", listID);
      inp.setAttribute("autocomplete", "off");
      var found = [], active = -1, timer = null, seq = 0;
      function close() {
        list.hidden = true;
        inp.setAttribute("aria-expanded", "false");
        inp.removeAttribute("aria-activedescendant");
        active = -1;
      }
      function show() {
        list.textContent = "";
        if (!found.length) { close(); return; }
        found.forEach(function (s, i) {
          var li = el("li", {id: listID + "-" + i, role: "option", "aria-selected": i === active ? "true" : "false"}, label(s));
          var hint = hintOf(s);
          if (hint) { li.append(el("span", {"class": "pick-hint"}, hint)); }
          li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
          list.append(li);
        });
        list.hidden = false;
        inp.setAttribute("aria-expanded", "true");
        if (active >= 0) {
          inp.setAttribute("aria-activedescendant", listID + "-" + active);
          var cur = document.getElementById(listID + "-" + active);
          if (cur && cur.scrollIntoView) { cur.scrollIntoView({block: "nearest"}); }
        } else {
          inp.removeAttribute("aria-activedescendant");
        }
      }
      function label(s) {
        if (part === "city") { return s.city ? s.city : s.region || s.name; }
        return s.name;
      }
      function hintOf(s) {
        var bits = [];
        if (part === "city") { if (s.city && s.region && s.region !== s.city) { bits.push(s.region); } }
        if (part === "street" && s.city) { bits.push(s.city); }
        if (s.postcode) { bits.push(s.postcode); }
        return bits.join(", ");
      }
      function parent() {
        if (part === "city") { return picked.region ? picked.region.fias : ""; }
        if (part === "street") { return picked.city ? picked.city.fias : ""; }
        return picked.street ? picked.street.fias : picked.city ? picked.city.fias : "";
      }
      function query() {
        var q = inp.value.trim(), p = parent(), my = ++seq;
        if (part !== "city" && !p) { close(); return; }
        if (!q && part === "city") { close(); return; }
        var url = box.dataset.suggest + "?level=" + levels[part] + "&q=" + encodeURIComponent(q) + (p ? "&parent=" + encodeURIComponent(p) : "");
        fetch(url, {headers: {"Accept": "application/json"}})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            if (my !== seq || document.activeElement !== inp) { return; }
            found = rows || [];
            active = found.length ? 0 : -1;
            show();
          })
          .catch(function () {});
      }
      function set(name, v) {
        var i = input(name);
        if (i && v !== undefined && i.value !== v) { i.value = v; }
      }
      // byKey: chosen with Enter, the focus moves on when the key is let
      // go, so that the key's character does not reach the next input
      // (and submit the form from there).
      var pending = null;
      function choose(i, byKey) {
        var s = found[i];
        if (!s) { return; }
        var ids = {fias: s.fias_id || "", kladr: s.kladr_id || ""};
        var next = null;
        // A postcode a pick put in gives way to the next pick's, even
        // none (a street's houses have several); one typed stays unless
        // the pick has its own.
        if (s.postcode) {
          set("postcode", s.postcode);
        } else if (input("postcode").value === autoPost) {
          set("postcode", "");
        }
        autoPost = input("postcode").value;
        if (part === "city") {
          var city = s.city || "";
          var was = input("city").value;
          set("region", s.region || "");
          set("city", city);
          ["region", "city", "street", "house"].forEach(function (l) { delete picked[l]; });
          if (city) {
            picked.city = ids;
            next = "street";
            if (was !== city) { set("street", ""); set("house", ""); }
          } else {
            picked.region = ids; // a region: its cities next
            next = "city";
            set("street", ""); set("house", "");
          }
        } else if (part === "street") {
          var street = s.street || s.name;
          if (input("street").value !== street) { set("house", ""); }
          set("street", street);
          delete picked.street; delete picked.house;
          picked.street = ids;
          next = "house";
        } else {
          set("house", s.house || s.name);
          picked.house = ids;
          next = "flat";
        }
        showIDs();
        close();
        found = [];
        if (byKey) { pending = next; } else { moveTo(next); }
      }
      function moveTo(next) {
        var n = input(next);
        if (n) { n.focus(); if (next === "street" || next === "house") { n.select(); } }
      }
      inp.addEventListener("keypress", function (ev) {
        if (pending && ev.key === "Enter") { ev.preventDefault(); }
      });
      inp.addEventListener("keyup", function (ev) {
        if (pending && ev.key === "Enter") { var n = pending; pending = null; moveTo(n); }
      });
      inp.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(query, 200); });
      inp.addEventListener("focus", function () {
        // The street and house lists open on focus once their parent is
        // picked: the first ones are offered before anything is typed.
        if (part !== "city" && parent()) { clearTimeout(timer); timer = setTimeout(query, 50); }
      });
      inp.addEventListener("keydown", function (ev) {
        if (list.hidden) {
          if (ev.key === "ArrowDown" && (inp.value.trim() || part !== "city")) { ev.preventDefault(); query(); }
          return;
        }
        if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
          ev.preventDefault();
          active = (active + (ev.key === "ArrowDown" ? 1 : found.length - 1)) % Math.max(found.length, 1);
          show();
        } else if (ev.key === "Enter") {
          if (active >= 0) { ev.preventDefault(); choose(active, true); }
        } else if (ev.key === "Escape") {
          // Only the list closes (an in-place edit stays open).
          ev.preventDefault();
          ev.stopPropagation();
          close();
        } else if (ev.key === "Tab") {
          close();
        }
      });
      inp.addEventListener("blur", function () { setTimeout(close, 150); });
    }
  }
  function all(root) {
    if (!root || !root.querySelectorAll) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("fieldset.addr"), setup);
    if (root.matches && root.matches("fieldset.addr")) { setup(root); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    all(document);
    document.body.addEventListener("htmx:load", function (ev) { all(ev.detail.elt); });
  });
})();
