package webform

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/intake"
)

// What a site's visitor reads — errors, the captcha's prompts, thanks —
// is in the form's language (Form.Language, Russian by default), from
// messages/<lang>.json; a field at fault is named by its label on the
// form, never by its code.

//go:embed messages/*.json
var messageFiles embed.FS

var messages = func() *i18n.Catalog {
	c := i18n.New()
	if err := c.Add(messageFiles, "messages"); err != nil {
		panic(err) // embedded; TestVisitorMessages reads them
	}
	return c
}()

// Languages a form speaks to visitors.
var Languages = []string{i18n.Ru, i18n.En}

// tr is a visitor's text in lang.
func tr(lang, key string, args ...any) string {
	s := messages.T(lang, key)
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// problem is one field at fault, as the visitor reads it.
type problem struct {
	Field   string `json:"field"`
	Label   string `json:"label,omitempty"`
	Message string `json:"message"`
}

// label is how the form names field name ("" when the form does not show
// it).
func (f Form) label(name string) string {
	for _, fl := range f.Fields {
		if fl.Name == name && fl.Override == "" {
			return fl.Label
		}
	}
	return ""
}

// problemOf words a field error for the visitor: the field by its label,
// the value as typed.
func (f Form) problemOf(field string, fe *crm.FieldError) problem {
	lang := f.lang()
	lbl := f.label(field)
	p := problem{Field: field, Label: lbl}
	value := ""
	if fe != nil && len(fe.Params) > 0 {
		value, _ = fe.Params[0].(string)
	}
	code := ""
	if fe != nil {
		code = fe.Code
	}
	switch {
	case code == "required_lead" || code == "required_contact":
		var labels []string
		for _, fl := range f.Fields {
			if fl.Override == "" {
				labels = append(labels, "«"+fl.Label+"»")
			}
		}
		p.Field, p.Label, p.Message = "", "", tr(lang, "webform.required_any", strings.Join(labels, ", "))
		return p
	case code == intake.CodeDuplicate:
		p.Field, p.Label, p.Message = "", "", tr(lang, "webform.duplicate")
		return p
	case lbl == "":
		// A field the visitor cannot see (an override): the form itself
		// is at fault; the journal has the details.
		p.Field, p.Message = "", tr(lang, "webform.internal")
		return p
	case code == "required":
		p.Message = tr(lang, "webform.required", lbl)
	case code == "not_phone":
		p.Message = tr(lang, "webform.not_phone", lbl, value)
	case code == "not_email":
		p.Message = tr(lang, "webform.not_email", lbl, value)
	case code == "not_number" || code == "not_amount":
		p.Message = tr(lang, "webform.not_number", lbl, value)
	case code == "too_long":
		n, _ := fe.Params[0].(int)
		p.Message = tr(lang, "webform.too_long", lbl, n)
	case field == "inn":
		p.Message = tr(lang, "webform.bad_inn", lbl)
	default:
		p.Message = tr(lang, "webform.invalid", lbl)
	}
	return p
}

func (f Form) lang() string {
	if f.Language == i18n.En {
		return i18n.En
	}
	return i18n.Ru
}

// pageField is a field of the page Obmen answers a form without
// JavaScript with: the visitor's value kept, its error beside it.
type pageField struct {
	Name, Label, Kind, Value, Error string
	Required                        bool
}

// page is what pageTmpl shows.
type page struct {
	Lang, Title, Message string
	Fix                  string
	Problems             []problem
	// Action, when set, shows the form again with Fields, Hidden and the
	// captcha's Question.
	Action          string
	Fields          []pageField
	Hidden          map[string]string
	Question, Token string
	// PoW is the proof-of-work puzzle that /f/pow.js solves; the
	// question is the answer of a visitor without JavaScript.
	PoW     *PoWChallenge
	PoWWait string
	// Stamp is the page's fill-time stamp (stamp.go).
	Stamp          string
	Send           string
	Back, BackText string
}

// refill is the page that shows the form again: the visitor's values
// kept, each problem beside its field, a fresh captcha question when the
// form has one, and a fill-time stamp of Obmen's page. The page is Obmen's
// own, at the submit's address: it posts there again by a path (the public
// URL may be another name of this server).
func (s *Service) refill(f Form, vals Values, title string, problems []problem) page {
	lang := f.lang()
	p := page{Lang: lang, Title: title, Problems: problems, Fix: tr(lang, "webform.fix"), Send: tr(lang, "webform.send"),
		Action: "/f/" + f.PublicID, Hidden: map[string]string{}, Stamp: s.captcha.stamp(f.PublicID, stampPage, time.Now())}
	if len(problems) == 0 {
		p.Fix = ""
	}
	byField := map[string]string{}
	for _, pr := range problems {
		if pr.Field != "" && byField[pr.Field] == "" {
			byField[pr.Field] = pr.Message
		}
	}
	defs := catalogue[f.Module]
	shown := map[string]bool{}
	for _, fl := range f.Fields {
		if fl.Override != "" {
			continue
		}
		shown[fl.Name] = true
		p.Fields = append(p.Fields, pageField{Name: fl.Name, Label: fl.Label, Kind: string(defs[fl.Name].kind), Value: vals[fl.Name],
			Error: byField[fl.Name], Required: fl.Required})
	}
	for k, v := range vals {
		if !shown[k] && v != "" && k != fieldCaptchaToken && k != fieldCaptchaAnswer && k != fieldHoneypot && k != fieldPoWToken && k != fieldPoWNonce && k != fieldStamp {
			p.Hidden[k] = v
		}
	}
	if f.Captcha {
		ch := s.challengeOf(f)
		p.Question, p.Token, p.PoW = ch.Question, ch.Token, ch.PoW
		p.PoWWait = tr(lang, "webform.pow_wait")
	}
	return p
}

// pageStyle is the answer page's only style. The page is served under a
// Content-Security-Policy that allows exactly this text by its hash.
const pageStyle = "body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:1em auto;padding:0 1em}.obmen-error{color:#b00020}[aria-invalid=true]{border-color:#b00020}input,textarea{font:inherit;width:100%;box-sizing:border-box}"

// pageCSP is the answer page's policy: nothing but this style and
// Obmen's own proof-of-work script (/f/pow.js, no inline script), no
// framing. It sets no form-action: a form whose settings send
// the visitor to the company's own thank-you page must be able to follow
// that redirect.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
}()

// pageTmpl is the page Obmen answers a form without JavaScript with: the
// thanks, a refusal, or the form again (values kept, errors beside their
// fields, a fresh captcha question).
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title>
<style>` + pageStyle + `</style>{{if .PoW}}<script src="/f/pow.js" defer></script>{{end}}</head>
<body>
<h1>{{.Title}}</h1>
{{- if .Message}}
<p role="alert">{{.Message}}</p>
{{- end}}
{{- if .Problems}}
<div role="alert" class="obmen-errors"><p>{{.Fix}}</p><ul>
{{- range .Problems}}<li>{{if .Field}}<a href="#obmen-{{.Field}}">{{.Message}}</a>{{else}}{{.Message}}{{end}}</li>{{end}}
</ul></div>
{{- end}}
{{- if .Action}}
<form action="{{.Action}}" method="post" accept-charset="utf-8" novalidate>
{{- range .Fields}}
<p><label for="obmen-{{.Name}}">{{.Label}}{{if .Required}} *{{end}}</label><br>
{{- if eq .Kind "textarea"}}
<textarea id="obmen-{{.Name}}" name="{{.Name}}"{{if .Error}} aria-invalid="true" aria-describedby="obmen-{{.Name}}-error"{{end}}>{{.Value}}</textarea>
{{- else}}
<input id="obmen-{{.Name}}" name="{{.Name}}" type="{{.Kind}}" value="{{.Value}}"{{if .Error}} aria-invalid="true" aria-describedby="obmen-{{.Name}}-error"{{end}}>
{{- end}}
{{- if .Error}}<br><span class="obmen-error" id="obmen-{{.Name}}-error">{{.Error}}</span>{{end}}</p>
{{- end}}
{{- range $k, $v := .Hidden}}
<input type="hidden" name="{{$k}}" value="{{$v}}">
{{- end}}
{{- if .Stamp}}
<input type="hidden" name="obmen_ts" value="{{.Stamp}}">
{{- end}}
{{- if .Question}}
<input type="hidden" name="obmen_captcha_token" value="{{.Token}}">
{{- if .PoW}}
<input type="hidden" name="obmen_pow_token" value="{{.PoW.Token}}" data-bits="{{.PoW.Bits}}">
<input type="hidden" name="obmen_pow_nonce" value="">
<p class="obmen-pow-status" role="status" hidden>{{.PoWWait}}</p>
{{- end}}
<p class="obmen-arith"><label for="obmen-captcha">{{.Question}}</label> <input id="obmen-captcha" name="obmen_captcha_answer" inputmode="numeric" autocomplete="off"{{if not .Problems}} autofocus{{end}}></p>
{{- end}}
<p><button type="submit">{{.Send}}</button></p>
</form>
{{- else if .Back}}
<p><a href="{{.Back}}">{{.BackText}}</a></p>
{{- end}}
</body></html>
`))
