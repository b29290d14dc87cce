package webform

import (
	"bytes"
	"html/template"
	"strings"
)

// The code to paste into a site: a plain form that posts to Obmen and
// works without JavaScript, then a small script that, when it runs, fills
// the UTM tags, referrer and analytics client ids, takes the fill-time
// stamp, shows the captcha question, and submits by fetch, answering in
// place.
var formTmpl = template.Must(template.New("form").Parse(`<form id="obmen-form-{{.PublicID}}" class="obmen-form" action="{{.Action}}" method="post" accept-charset="utf-8">
{{- range .Fields}}
  <p><label for="obmen-{{$.PublicID}}-{{.Name}}">{{.Label}}{{if .Required}} *{{end}}</label><br>
  {{- if eq .Kind "textarea"}}
  <textarea id="obmen-{{$.PublicID}}-{{.Name}}" name="{{.Name}}"{{if .Required}} required{{end}}></textarea></p>
  {{- else}}
  <input id="obmen-{{$.PublicID}}-{{.Name}}" name="{{.Name}}" type="{{.Kind}}"{{if eq .Kind "number"}} step="any" min="0"{{end}}{{if .Required}} required{{end}}></p>
  {{- end}}
{{- end}}
{{- range .Hidden}}
  <input type="hidden" name="{{.}}" value="">
{{- end}}
  <input type="hidden" name="obmen_ts" value="">
  <div style="position:absolute;left:-10000px" aria-hidden="true"><label>{{.Texts.Honeypot}} <input type="text" name="obmen_hp" tabindex="-1" autocomplete="off"></label></div>
{{- if .Captcha}}
  <p class="obmen-captcha" hidden><label><span class="obmen-captcha-question"></span> <input name="obmen_captcha_answer" inputmode="numeric" autocomplete="off"></label><input type="hidden" name="obmen_captcha_token" value=""></p>
{{- end}}
{{- if .PoWURL}}
  <input type="hidden" name="obmen_pow_token" value=""><input type="hidden" name="obmen_pow_nonce" value="">
  <p class="obmen-pow-status" role="status" hidden>{{.Texts.PoWWait}}</p>
{{- end}}
  <p class="obmen-message" role="status"></p>
  <p><button type="submit">{{.Texts.Send}}</button></p>
</form>
{{- if .PoWURL}}
<script src="{{.PoWURL}}"></script>
{{- end}}
<script>
(function () {
  var f = document.getElementById("obmen-form-{{.PublicID}}");
  if (!f || !window.fetch || !window.FormData) return;
  function set(n, v) { var e = f.elements[n]; if (e && v) e.value = v; }
  var q = new URLSearchParams(location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"].forEach(function (n) { set(n, q.get(n)); });
  set("obmen_referrer", document.referrer);
  var c = {}; document.cookie.split("; ").forEach(function (p) { var i = p.indexOf("="); if (i > 0) c[p.slice(0, i)] = p.slice(i + 1); });
  set("obmen_ga", c._ga); set("obmen_ym_uid", c._ym_uid);
  var msg = f.querySelector(".obmen-message"), cap = f.querySelector(".obmen-captcha");
  // stamp: take the challenge's fill-time stamp (on load and after a
  // submit went in, not after a refusal: the fill time counts from load).
  function ask(d, stamp) {
    if (stamp) set("obmen_ts", d.stamp);
    if (!cap) return;
    // A proof-of-work form: the browser solves the puzzle instead of
    // the visitor answering the question.
    if (d.pow && window.obmenPow && window.obmenPow.fill(f, d.pow.token, d.pow.bits)) { cap.hidden = true; return; }
    cap.querySelector(".obmen-captcha-question").textContent = d.question;
    set("obmen_captcha_token", d.token); f.elements.obmen_captcha_answer.value = ""; cap.hidden = false;
  }
  // A refused submit brings a fresh question (the one sent is spent).
  function challenge(d, stamp) {
    if (!cap && !stamp) return;
    if (d && d.question) { ask(d, stamp); return; }
    fetch({{.CaptchaURL}}).then(function (r) { return r.json(); }).then(function (d) { ask(d, stamp); });
  }
  challenge(null, true);
  f.addEventListener("submit", function (ev) {
    ev.preventDefault();
    msg.textContent = "";
    Array.prototype.forEach.call(f.querySelectorAll("[aria-invalid]"), function (el) { el.removeAttribute("aria-invalid"); });
    fetch(f.action, { method: "POST", body: new FormData(f), headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (x) {
        if (x.ok) { if (x.d.redirect) { location.href = x.d.redirect; return; } f.reset(); msg.textContent = {{.Texts.Thanks}}; challenge(null, true); return; }
        var e = x.d.error || {}, list = e.details || [], first = null;
        msg.textContent = list.length ? list.map(function (p) { return p.message; }).join(" ") : (e.message || {{.Texts.Failed}});
        list.forEach(function (p) { var el = p.field && f.elements[p.field]; if (el && el.setAttribute) { el.setAttribute("aria-invalid", "true"); first = first || el; } });
        challenge(x.d.captcha);
        if (first && first.focus) first.focus();
      })
      .catch(function () { msg.textContent = {{.Texts.Network}}; challenge(); });
  });
})();
</script>
`))

type htmlField struct {
	Name, Label, Kind string
	Required          bool
}

// render generates a form's HTML; base is Obmen's public URL.
func render(f Form, base string) string {
	base = strings.TrimRight(base, "/")
	data := struct {
		PublicID, Action, CaptchaURL string
		Fields                       []htmlField
		Hidden                       []string
		Captcha                      bool
		PoWURL                       string
		Texts                        struct{ Honeypot, Send, Thanks, Failed, Network, PoWWait string }
	}{PublicID: f.PublicID, Action: base + "/f/" + f.PublicID, CaptchaURL: base + "/f/" + f.PublicID + "/captcha", Captcha: f.Captcha}
	if f.usesPoW() {
		data.PoWURL = base + "/f/pow.js"
	}
	lang := f.lang()
	data.Texts.Honeypot, data.Texts.Send, data.Texts.Thanks = tr(lang, "webform.honeypot"), tr(lang, "webform.send"), tr(lang, "webform.thanks")
	data.Texts.Failed, data.Texts.Network = tr(lang, "webform.not_sent"), tr(lang, "webform.network")
	data.Texts.PoWWait = tr(lang, "webform.pow_wait")
	defs := catalogue[f.Module]
	for _, fl := range f.Fields {
		if fl.Override != "" {
			continue // fixed by Obmen, never shown
		}
		data.Fields = append(data.Fields, htmlField{Name: fl.Name, Label: fl.Label, Kind: string(defs[fl.Name].kind), Required: fl.Required})
	}
	data.Hidden = append(append([]string{}, utmFields...), fieldReferrer, fieldGA, fieldYM)
	var b bytes.Buffer
	if err := formTmpl.Execute(&b, data); err != nil {
		return "<!-- " + template.HTMLEscapeString(err.Error()) + " -->"
	}
	return b.String()
}

func (s *Service) withHTML(f Form) Form {
	f.SubmitURL = strings.TrimRight(s.base, "/") + "/f/" + f.PublicID
	f.HTML = render(f, s.base)
	return f
}
