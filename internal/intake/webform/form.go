// Package webform serves web forms for sites (seed 000, "Веб-формы"): a
// form is kept with its responsible user, target module, return URL,
// captcha switch, chosen fields (each required or not, or fixed to an
// override value the visitor never sees) and allowed origins; Obmen
// generates its HTML — a plain <form> that works without JavaScript and a
// small optional script for AJAX submits — and takes its submits at the
// public POST /f/{public_id}, as leads, contacts, accounts, tickets or
// deals, through the intake journal.
package webform

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/i18n"
	"github.com/obmen/obmen/internal/store"
)

// Modules a form can feed.
var Modules = []string{"leads", "contacts", "accounts", "tickets", "deals"}

// Field is a form field: a CRM field of the module, shown to the visitor
// with a label (required or not), or fixed to Override and not shown.
type Field struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	Override string `json:"override"`
}

// Form is a web form.
type Form struct {
	ID        int64  `json:"id"`
	PublicID  string `json:"public_id"`
	Name      string `json:"name"`
	Enabled   bool   `json:"enabled"`
	UserID    int64  `json:"user_id"`
	Module    string `json:"module"`
	ReturnURL string `json:"return_url"`
	Captcha   bool   `json:"captcha"`
	// CaptchaMode is the kind of captcha: "arithmetic", "proof-of-work"
	// (with the arithmetic question for visitors without JavaScript) or
	// "off" (the same as captcha false). Empty: arithmetic when captcha
	// is on.
	CaptchaMode string `json:"captcha_mode"`
	// Language is what the form says to visitors: "ru" (the default) or
	// "en".
	Language string `json:"language"`
	// MinFillSeconds is the minimum fill time: a submit sent sooner after
	// the form was served is spam (0: not checked; see stamp.go).
	MinFillSeconds int       `json:"min_fill_seconds"`
	Fields         []Field   `json:"fields"`
	AllowedOrigins []string  `json:"allowed_origins"`
	HTML           string    `json:"html"` // generated; read-only
	SubmitURL      string    `json:"submit_url"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// kind is a field's input type: what the HTML shows and the submit
// checks.
type kind string

const (
	kindText     kind = "text"
	kindTextarea kind = "textarea"
	kindEmail    kind = "email"
	kindTel      kind = "tel"
	kindNumber   kind = "number"
)

type fieldDef struct {
	kind  kind
	label string
	max   int
}

// catalogue lists the fields each module takes from a form.
var catalogue = map[string]map[string]fieldDef{
	"leads": {
		"title": {kindText, "Тема", 255}, "name": {kindText, "Имя", 100}, "last_name": {kindText, "Фамилия", 100},
		"second_name": {kindText, "Отчество", 100}, "company_title": {kindText, "Компания", 255}, "position": {kindText, "Должность", 255},
		"phone": {kindTel, "Телефон", 50}, "email": {kindEmail, "E-mail", 255}, "comments": {kindTextarea, "Комментарий", 65000},
		"city": {kindText, "Город", 255}, "opportunity": {kindNumber, "Сумма", 30},
	},
	"contacts": {
		"name": {kindText, "Имя", 100}, "last_name": {kindText, "Фамилия", 100}, "second_name": {kindText, "Отчество", 100},
		"position": {kindText, "Должность", 255}, "phone": {kindTel, "Телефон", 50}, "email": {kindEmail, "E-mail", 255},
		"comments": {kindTextarea, "Комментарий", 65000}, "city": {kindText, "Город", 255},
	},
	"accounts": {
		"title": {kindText, "Название компании", 255}, "inn": {kindText, "ИНН", 12}, "phone": {kindTel, "Телефон", 50},
		"email": {kindEmail, "E-mail", 255}, "comments": {kindTextarea, "Комментарий", 65000}, "city": {kindText, "Город", 255},
	},
	"tickets": {
		"title": {kindText, "Тема обращения", 255}, "description": {kindTextarea, "Описание", 65000}, "name": {kindText, "Имя", 255},
		"phone": {kindTel, "Телефон", 50}, "email": {kindEmail, "E-mail", 255},
	},
	"deals": {
		"title": {kindText, "Название", 255}, "opportunity": {kindNumber, "Сумма", 30}, "comments": {kindTextarea, "Комментарий", 65000},
		"name": {kindText, "Имя", 255}, "phone": {kindTel, "Телефон", 50}, "email": {kindEmail, "E-mail", 255},
	},
}

// Reserved names of the hidden fields every form carries.
const (
	fieldHoneypot      = "obmen_hp"
	fieldReferrer      = "obmen_referrer"
	fieldGA            = "obmen_ga"
	fieldYM            = "obmen_ym_uid"
	fieldCaptchaToken  = "obmen_captcha_token"
	fieldCaptchaAnswer = "obmen_captcha_answer"
)

var utmFields = []string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"}

func normOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", errors.New("want an origin such as https://example.ru")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// normalize validates a form; it names the field at fault.
func (f *Form) normalize() error {
	f.Name, f.Module, f.ReturnURL = strings.TrimSpace(f.Name), strings.TrimSpace(f.Module), strings.TrimSpace(f.ReturnURL)
	if f.Name == "" {
		return crm.Invalid("name", "required")
	}
	switch f.CaptchaMode = strings.TrimSpace(f.CaptchaMode); f.CaptchaMode {
	case "":
		f.CaptchaMode = CaptchaOff
		if f.Captcha {
			f.CaptchaMode = CaptchaArithmetic
		}
	case CaptchaOff:
		f.Captcha = false
	case CaptchaArithmetic, CaptchaPoW:
		f.Captcha = true
	default:
		return crm.Invalid("captcha_mode", "%q is not one of %s, %s, %s", f.CaptchaMode, CaptchaArithmetic, CaptchaPoW, CaptchaOff)
	}
	if len(f.Name) > 255 {
		return crm.Invalid("name", "longer than 255 bytes")
	}
	if f.MinFillSeconds < 0 || f.MinFillSeconds > MaxMinFillSeconds {
		return crm.Invalid("min_fill_seconds", "want whole seconds from 0 (off) to %d", MaxMinFillSeconds)
	}
	if f.UserID <= 0 {
		return crm.Invalid("user_id", "required: the user responsible for what the form brings")
	}
	defs, ok := catalogue[f.Module]
	if !ok {
		return crm.Invalid("module", "%q is not one of %s", f.Module, strings.Join(Modules, ", "))
	}
	switch f.Language = strings.TrimSpace(f.Language); f.Language {
	case "":
		f.Language = i18n.Ru
	case i18n.Ru, i18n.En:
	default:
		return crm.Invalid("language", "%q is not one of %s", f.Language, strings.Join(Languages, ", "))
	}
	if f.ReturnURL != "" {
		u, err := url.Parse(f.ReturnURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return crm.Invalid("return_url", "want an absolute http(s) URL")
		}
	}
	if len(f.Fields) == 0 {
		return crm.Invalid("fields", "choose at least one field")
	}
	seen := map[string]bool{}
	shown := 0
	for i := range f.Fields {
		fl := &f.Fields[i]
		fl.Name, fl.Label = strings.TrimSpace(fl.Name), strings.TrimSpace(fl.Label)
		p := fmt.Sprintf("fields[%d]", i)
		def, ok := defs[fl.Name]
		if !ok {
			names := make([]string, 0, len(defs))
			for n := range defs {
				names = append(names, n)
			}
			sort.Strings(names)
			return crm.Invalid(p+".name", "%q is not a field of %s (one of %s)", fl.Name, f.Module, strings.Join(names, ", "))
		}
		if seen[fl.Name] {
			return crm.Invalid(p+".name", "%q is chosen twice", fl.Name)
		}
		seen[fl.Name] = true
		if fl.Label == "" {
			fl.Label = def.label
		}
		if fl.Override != "" {
			if _, err := checkValue(fl.Name, def, fl.Override); err != nil {
				return crm.Prefixed(p, crm.Invalid("override", "%s", err.(*crm.FieldError).Message))
			}
			fl.Required = false
		} else {
			shown++
		}
	}
	if shown == 0 {
		return crm.Invalid("fields", "every field has an override value: the visitor would have nothing to fill")
	}
	var origins []string
	for i, o := range f.AllowedOrigins {
		n, err := normOrigin(o)
		if err != nil {
			return crm.Invalid(fmt.Sprintf("allowed_origins[%d]", i), "%v", err)
		}
		origins = append(origins, n)
	}
	if len(origins) == 0 && f.ReturnURL != "" {
		// The site a visitor returns to is the site the form is on.
		if u, err := url.Parse(f.ReturnURL); err == nil {
			origins = append(origins, strings.ToLower(u.Scheme+"://"+u.Host))
		}
	}
	if origins == nil {
		origins = []string{}
	}
	f.AllowedOrigins = origins
	return nil
}

// checkValue validates one submitted value by its field's kind and
// returns it normalized.
func checkValue(name string, def fieldDef, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if len(v) > def.max {
		return "", crm.Invalid(name, "longer than %d characters", def.max)
	}
	switch def.kind {
	case kindEmail:
		if _, ok := crm.NormalizeEmail(v); !ok {
			return "", crm.Invalid(name, "%q is not an e-mail address", v)
		}
	case kindTel:
		if _, ok := crm.NormalizePhone(v); !ok {
			return "", crm.Invalid(name, "%q is not a phone number", v)
		}
	case kindNumber:
		if _, err := crm.ParseAmount(strings.ReplaceAll(strings.ReplaceAll(v, " ", ""), ",", ".")); err != nil {
			return "", crm.Invalid(name, "%q is not a number", v)
		}
	}
	if name == "inn" {
		if err := crm.ValidINN(v); err != nil {
			return "", crm.Invalid(name, "%s", err.(*crm.FieldError).Message)
		}
	}
	return v, nil
}

func newPublicID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

const formColumns = `id, public_id, name, enabled, user_id, module, return_url, captcha, captcha_mode, language, min_fill_seconds, fields, allowed_origins, created_at, updated_at`

func scanForm(sc interface{ Scan(...any) error }) (Form, error) {
	var f Form
	var fields, origins string
	var created, updated int64
	if err := sc.Scan(&f.ID, &f.PublicID, &f.Name, &f.Enabled, &f.UserID, &f.Module, &f.ReturnURL, &f.Captcha, &f.CaptchaMode, &f.Language, &f.MinFillSeconds, &fields, &origins, &created, &updated); err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(fields), &f.Fields); err != nil {
		return f, fmt.Errorf("webform: form %d fields: %w", f.ID, err)
	}
	if err := json.Unmarshal([]byte(origins), &f.AllowedOrigins); err != nil {
		return f, fmt.Errorf("webform: form %d allowed origins: %w", f.ID, err)
	}
	f.CreatedAt, f.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return f, nil
}

// List returns every form with its HTML.
func (s *Service) List(ctx context.Context) ([]Form, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+formColumns+" FROM webforms ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("webform: list: %w", err)
	}
	defer rows.Close()
	out := []Form{}
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, fmt.Errorf("webform: list: %w", err)
		}
		out = append(out, s.withHTML(f))
	}
	return out, rows.Err()
}

// Get returns a form with its HTML.
func (s *Service) Get(ctx context.Context, id int64) (Form, error) {
	f, err := scanForm(s.db.Read.QueryRowContext(ctx, "SELECT "+formColumns+" FROM webforms WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, store.NotFound("web form", id)
	}
	if err != nil {
		return f, fmt.Errorf("webform: form %d: %w", id, err)
	}
	return s.withHTML(f), nil
}

// byPublicID returns an enabled form for a submit, from a short-lived
// cache: a form changes rarely and is read on every submit.
func (s *Service) byPublicID(ctx context.Context, pid string) (Form, error) {
	if f, ok := s.cache.get(pid); ok {
		return f, nil
	}
	f, err := scanForm(s.db.Read.QueryRowContext(ctx, "SELECT "+formColumns+" FROM webforms WHERE public_id = $1 AND enabled = $2", pid, true))
	if errors.Is(err, sql.ErrNoRows) {
		return f, store.NotFound("web form", pid)
	}
	if err != nil {
		return f, fmt.Errorf("webform: form %s: %w", pid, err)
	}
	s.cache.put(pid, f)
	return f, nil
}

func (s *Service) checkUser(ctx context.Context, id int64) error {
	if _, err := s.in.Store().GetUser(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return crm.Invalid("user_id", "user %d does not exist", id)
		}
		return err
	}
	return nil
}

// Create stores a new form under a fresh public id.
func (s *Service) Create(ctx context.Context, f Form) (Form, error) {
	if err := f.normalize(); err != nil {
		return f, err
	}
	if err := s.checkUser(ctx, f.UserID); err != nil {
		return f, err
	}
	f.PublicID = newPublicID()
	err := s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		return t.SQL().QueryRowContext(t.Ctx(), `INSERT INTO webforms (public_id, name, enabled, user_id, module, return_url, captcha, fields, allowed_origins, created_at, updated_at, language, captcha_mode, min_fill_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13) RETURNING id`,
			f.PublicID, f.Name, f.Enabled, f.UserID, f.Module, f.ReturnURL, f.Captcha, jsonText(f.Fields), jsonText(f.AllowedOrigins), t.Now().UnixMicro(), f.Language, f.CaptchaMode, f.MinFillSeconds).Scan(&f.ID)
	})
	if err != nil {
		return f, fmt.Errorf("webform: create: %w", err)
	}
	return s.Get(ctx, f.ID)
}

// Update replaces a form's settings; its public id stays.
func (s *Service) Update(ctx context.Context, id int64, f Form) (Form, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return f, err
	}
	if err := f.normalize(); err != nil {
		return f, err
	}
	if err := s.checkUser(ctx, f.UserID); err != nil {
		return f, err
	}
	err = s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), `UPDATE webforms SET name = $1, enabled = $2, user_id = $3, module = $4, return_url = $5, captcha = $6,
			fields = $7, allowed_origins = $8, updated_at = $9, language = $11, captcha_mode = $12, min_fill_seconds = $13 WHERE id = $10`,
			f.Name, f.Enabled, f.UserID, f.Module, f.ReturnURL, f.Captcha, jsonText(f.Fields), jsonText(f.AllowedOrigins), t.Now().UnixMicro(), id, f.Language, f.CaptchaMode, f.MinFillSeconds)
		return err
	})
	if err != nil {
		return f, fmt.Errorf("webform: update %d: %w", id, err)
	}
	s.cache.drop(old.PublicID)
	return s.Get(ctx, id)
}

// Delete removes a form; its journal stays.
func (s *Service) Delete(ctx context.Context, id int64) error {
	old, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	err = s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		_, err := t.SQL().ExecContext(t.Ctx(), "DELETE FROM webforms WHERE id = $1", id)
		return err
	})
	s.cache.drop(old.PublicID)
	return err
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Choice is a field an admin can put on a form: its name and the label a
// visitor sees by default (Russian).
type Choice struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// choiceOrder is the order fields are offered in: who, how to reach them,
// then what they want.
var choiceOrder = []string{"title", "name", "last_name", "second_name", "company_title", "position", "inn",
	"phone", "email", "city", "opportunity", "description", "comments"}

// Choices lists a module's fields for the admin's picker, in a fixed
// order; nil for an unknown module.
func Choices(module string) []Choice {
	defs, ok := catalogue[module]
	if !ok {
		return nil
	}
	out := make([]Choice, 0, len(defs))
	for _, n := range choiceOrder {
		if d, ok := defs[n]; ok {
			out = append(out, Choice{Name: n, Label: d.label})
		}
	}
	return out
}
