// Package intake turns requests from sites into leads: the seed-004 order
// JSON posted to /api/v1/intake/orders or mailed to an IMAP collector
// (mail/), and web form submits (webform/). Every request, accepted or
// not, is written to the intake journal.
//
// A lead, its account (found or created by INN), its link to an existing
// contact (matched by phone or e-mail), the activity in the responsible
// user's calendar, the journal row and whatever the source needs to be
// idempotent (an Idempotency-Key, a mail message's key) are ONE
// transaction with their change events: durable before anyone is
// answered, and all or nothing.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/intake/order"
	"github.com/obmen/obmen/internal/store"
)

// Sources of the journal.
const (
	SourceHTTP = "http"
	SourceMail = "mail"
	SourceForm = "form"
)

// Outcomes of the journal.
const (
	OutcomeCreated   = "created"
	OutcomeDuplicate = "duplicate"
	OutcomeFailed    = "failed"
	OutcomeSkipped   = "skipped"
)

// Service creates leads from requests.
type Service struct {
	store *store.Store
	log   *slog.Logger
}

// New returns the intake service over a store.
func New(s *store.Store, log *slog.Logger) *Service {
	return &Service{store: s, log: log}
}

// Store is the service's store.
func (s *Service) Store() *store.Store { return s.store }

// Source says where a request came from and on whose calendar it lands.
type Source struct {
	Kind   string // SourceHTTP, SourceMail, SourceForm
	ID     int64  // collector or form id; 0 for the HTTP endpoint
	Ref    string // Idempotency-Key, mail key, client address: shown in the journal
	UserID int64  // responsible user: the lead's, and the calendar's
	Actor  crm.Actor
	// Note is added to the activity's description (a collector's kind).
	Note string
	// Fixed: the request named the responsible user (assigned_by_id), so
	// the distribution rules do not choose one.
	Fixed bool
	// OnFail, when set, runs in the write that journals a refusal, with
	// the journal row's id (a collector records the message's key there).
	OnFail func(t *store.Tx, journalID int64) error
}

// Result is what one request became.
type Result struct {
	Entity    string `json:"entity"`
	RecordID  int64  `json:"record_id"`
	LeadID    int64  `json:"lead_id,omitempty"`
	AccountID int64  `json:"account_id,omitempty"`
	ContactID int64  `json:"contact_id,omitempty"`
	// ActivityID is the calendar entry.
	ActivityID int64 `json:"activity_id,omitempty"`
	JournalID  int64 `json:"journal_id"`
	// Merged: the duplicate rule folded the request into the existing
	// RecordID instead of creating one.
	Merged bool `json:"merged,omitempty"`
	// Warning names the records the new one may duplicate.
	Warning string `json:"warning,omitempty"`
}

// Fault is a request refused for its content: the field at fault (in the
// names the sender used) and why. It is journaled.
type Fault struct {
	Field   string
	Line    int
	Message string
	// Code and Params, when the fault is a crm field error's, let a
	// source word it for its reader (a web form's visitor).
	Code   string
	Params []any
}

func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("intake: ")
	if f.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", f.Line)
	}
	if f.Field != "" {
		b.WriteString(f.Field + ": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// AsFault finds the content fault in err: an order.Error, a crm field
// error (with its field renamed to the seed's), or a Fault.
func AsFault(err error) (*Fault, bool) {
	var f *Fault
	if errors.As(err, &f) {
		return f, true
	}
	var oe *order.Error
	if errors.As(err, &oe) {
		return &Fault{Field: oe.Field, Line: oe.Line, Message: oe.Message}, true
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return &Fault{Field: seedField(fe.Field), Message: fe.Message, Code: fe.Code, Params: fe.Params}, true
	}
	return nil, false
}

var rowField = regexp.MustCompile(`^product_rows\[(\d+)\]\.?(.*)$`)

// seedField names a lead field as the seed-004 file does.
func seedField(f string) string {
	if m := rowField.FindStringSubmatch(f); m != nil {
		names := map[string]string{"name": "Номенклатура", "price": "Цена", "quantity": "Количество", "sum": "Сумма"}
		n := names[m[2]]
		if n == "" {
			n = m[2]
		}
		return "Товары[" + m[1] + "]." + n
	}
	switch {
	case strings.HasPrefix(f, "phones"):
		return "Телефон"
	case strings.HasPrefix(f, "emails"):
		return "АдресЭлектроннойПочты"
	case f == "inn":
		return "ИНН"
	case f == "title":
		return "Тема"
	case f == "comments":
		return "Описание"
	}
	return f
}

// Hook runs inside the lead's transaction after the lead and the journal
// row are written: a source records there what makes it idempotent.
type Hook func(t *store.Tx, r *Result) error

// CreateLead turns an order into a lead (see the package comment) in one
// transaction, runs hook inside it, and journals the outcome. A content
// fault (a *Fault in the chain, see AsFault) is journaled as failed in a
// write of its own, and nothing else is written.
func (s *Service) CreateLead(ctx context.Context, src Source, o order.Order, hook Hook) (Result, error) {
	return s.CreateLeadWith(ctx, src, o, nil, hook)
}

// CreateLeadWith is CreateLead with shape changing the lead made of the
// order before it is checked for duplicates and written (an e-mail's
// lead: its source, the sender's name as written).
func (s *Service) CreateLeadWith(ctx context.Context, src Source, o order.Order, shape func(*crm.Lead), hook Hook) (Result, error) {
	lead, err := leadFrom(o)
	if err != nil {
		return Result{}, s.Fail(ctx, src, err)
	}
	if shape != nil {
		shape(&lead)
	}
	lead.AssignedByID = src.UserID
	plan, err := s.PlanFor(ctx, store.EntityLead, dedup.LeadProbe(&lead))
	if err != nil {
		if _, ok := AsFault(err); ok {
			return Result{}, s.Fail(ctx, src, err)
		}
		return Result{}, err
	}
	var res Result
	err = s.store.Write(distributed(ctx, src), src.Actor, func(t *store.Tx) error {
		res = Result{}
		// Matching the order to an account and a contact is the system's
		// own lookup: the lead links to the company that exists, whoever is
		// responsible for it and whoever's key sent the order.
		sys := t.Unscoped()
		if o.INN != "" {
			id, err := sys.FindAccountByINN(o.INN)
			if errors.Is(err, store.ErrNotFound) {
				a := accountFrom(o, src.UserID)
				if err := t.AddAccount(&a); err != nil {
					return err
				}
				id, err = a.ID, nil
			}
			if err != nil {
				return err
			}
			res.AccountID = id
		}
		if o.Phone != "" || o.Email != "" {
			id, err := sys.FindContactByComm(o.Phone, o.Email)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			res.ContactID = id
		}
		if res.ContactID == 0 && plan.LinkContact != 0 {
			res.ContactID = plan.LinkContact
		}
		l := lead
		l.AccountID, l.ContactID = res.AccountID, res.ContactID
		if plan.MergeInto != 0 {
			if err := MergeLead(t, plan.MergeInto, l); err != nil {
				return err
			}
			l.ID, res.Merged = plan.MergeInto, true
		} else if err := t.AddLead(&l); err != nil {
			return err
		}
		res.Entity, res.RecordID, res.LeadID, res.Warning = store.EntityLead, l.ID, l.ID, plan.Warning()
		act, err := s.activity(t, l.AssignedByID, "lead", l.ID, l.Title, activityText(o, src))
		if err != nil {
			return err
		}
		res.ActivityID = act
		return s.finish(t, src, &res, hook)
	})
	if err != nil {
		if _, ok := AsFault(err); ok {
			return Result{}, s.Fail(ctx, src, err)
		}
		return Result{}, err
	}
	return res, nil
}

// activity puts the request on the responsible user's calendar: a task
// starting now, linked to the new record.
func (s *Service) activity(t *store.Tx, userID int64, ownerType string, ownerID int64, title, text string) (int64, error) {
	start := t.Now()
	end := start.Add(time.Hour)
	// A request with no title of its own is already titled "Заявка с
	// сайта": the task does not say it twice.
	subject := title
	if !strings.HasPrefix(strings.ToLower(title), "заявка") {
		subject = "Заявка с сайта: " + title
	}
	subject = crm.ClipRunes(subject, 500)
	a := crm.Activity{Kind: crm.ActivityTask, Subject: subject, Description: text, StartAt: &start, EndAt: &end,
		OwnerType: ownerType, OwnerID: ownerID, Direction: "in"}
	a.AssignedByID = userID
	if err := t.AddActivity(&a); err != nil {
		return 0, fmt.Errorf("intake: calendar activity: %w", err)
	}
	return a.ID, nil
}

// finish journals a created record and runs the source's hook.
func (s *Service) finish(t *store.Tx, src Source, res *Result, hook Hook) error {
	outcome := OutcomeCreated
	if res.Merged {
		outcome = OutcomeDuplicate
	}
	id, err := journal(t.Ctx(), t.SQL(), t.Now(), Entry{Source: src.Kind, SourceID: src.ID, Ref: src.Ref, Outcome: outcome,
		Entity: res.Entity, RecordID: res.RecordID, Error: res.Warning})
	if err != nil {
		return err
	}
	res.JournalID = id
	if hook != nil {
		return hook(t, res)
	}
	return nil
}

// Fail journals a refused request and returns err (as a *Fault when it
// is one); errors that are not content faults are journaled too, with
// their text, so that nothing received goes unrecorded.
func (s *Service) Fail(ctx context.Context, src Source, err error) error {
	e := Entry{Source: src.Kind, SourceID: src.ID, Ref: src.Ref, Outcome: OutcomeFailed, Error: err.Error()}
	if f, ok := AsFault(err); ok {
		e.Field, e.Error = f.Field, f.Message
		if f.Line > 0 {
			e.Error = fmt.Sprintf("line %d: %s", f.Line, f.Message)
		}
		var n interface{ AttachmentName() string }
		if errors.As(err, &n) {
			e.Error = "attachment " + strconv.Quote(n.AttachmentName()) + ": " + e.Error
		}
		err = f
	}
	jerr := s.store.Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		id, err := JournalTx(t, e)
		if err != nil {
			return err
		}
		if src.OnFail != nil {
			return src.OnFail(t, id)
		}
		return nil
	})
	if jerr != nil {
		s.log.Error("intake: journal a refused request", "source", src.Kind, "source_id", src.ID, "err", jerr, "refused", err)
		if src.OnFail != nil {
			// The caller relies on the refusal being recorded.
			return jerr
		}
	}
	return err
}

// JournalTx writes one entry inside a write.
func JournalTx(t *store.Tx, e Entry) (int64, error) {
	return journal(t.Ctx(), t.SQL(), t.Now(), e)
}

// Journal writes one entry in a write of its own.
func (s *Service) Journal(ctx context.Context, e Entry) (int64, error) {
	var id int64
	err := s.store.Write(ctx, crm.Actor{}, func(t *store.Tx) error {
		var err error
		id, err = journal(t.Ctx(), t.SQL(), t.Now(), e)
		return err
	})
	return id, err
}

// leadFrom maps the order's fields onto a lead. Layout file links go to
// the comments and, with the row's material, sizes and extra works, into
// the properties of every good row (one row → one job card later).
func leadFrom(o order.Order) (crm.Lead, error) {
	l := crm.Lead{Title: o.Subject, SourceID: "WEB", SourceDescription: "seed-004 order"}
	last, first, middle := splitName(o.ContactPerson)
	l.LastName, l.Name, l.SecondName = last, first, middle
	if o.Phone != "" {
		l.Phones = []crm.Comm{{Value: o.Phone}}
	}
	if o.Email != "" {
		l.Emails = []crm.Comm{{Value: o.Email}}
	}
	var c []string
	if o.Description != "" {
		c = append(c, o.Description)
	}
	if !o.Date.IsZero() {
		c = append(c, "Дата заявки: "+o.Date.Format(order.DateLayout))
	}
	if o.INN != "" {
		c = append(c, "ИНН: "+o.INN)
	}
	if len(o.LayoutFiles) > 0 {
		c = append(c, "Файлы макета:\n"+strings.Join(o.LayoutFiles, "\n"))
	}
	l.Comments = strings.Join(c, "\n\n")
	for i, it := range o.Items {
		row, err := rowFrom(i, it, o.LayoutFiles)
		if err != nil {
			return l, err
		}
		l.ProductRows = append(l.ProductRows, row)
	}
	if l.Title == "" {
		l.Title = strings.TrimSpace(o.ContactPerson)
	}
	if l.Title == "" {
		l.Title = "Заявка с сайта"
	}
	if r := []rune(l.Title); len(r) > 255 {
		l.Title = string(r[:255])
	}
	return l, nil
}

func rowFrom(i int, it order.Item, files []string) (crm.LineItem, error) {
	p := fmt.Sprintf("Товары[%d]", i)
	row := crm.LineItem{Name: it.Name, Unit: "шт"}
	qty := it.Quantity
	if qty == "" || qty == "0" {
		qty = "1"
	}
	q, err := crm.ParseQuantity(qty)
	if err != nil {
		return row, &Fault{Field: p + ".Количество", Message: fmt.Sprintf("%s: at most 3 decimal places", it.Quantity)}
	}
	row.Quantity = q
	switch {
	case it.Price != "":
		v, err := crm.ParseAmount(it.Price)
		if err != nil {
			return row, &Fault{Field: p + ".Цена", Message: fmt.Sprintf("%s: at most 2 decimal places", it.Price)}
		}
		row.Price = v
	case it.Sum != "":
		// Only the sum is given: the price is the sum per unit.
		v, err := crm.ParseAmount(it.Sum)
		if err != nil {
			return row, &Fault{Field: p + ".Сумма", Message: fmt.Sprintf("%s: at most 2 decimal places", it.Sum)}
		}
		row.Price = crm.Amount(int64(v) * 1000 / int64(q))
	}
	props := map[string]any{"service": it.Service}
	for k, v := range map[string]string{"machine_code": it.MachineCode, "resolution": it.Resolution, "material": it.Material,
		"material_code": it.MaterialCode, "width": it.Width, "height": it.Height, "site_sum": it.Sum} {
		if v != "" {
			props[k] = v
		}
	}
	if len(it.ExtraWorks) > 0 {
		ws := make([]map[string]any, 0, len(it.ExtraWorks))
		for _, w := range it.ExtraWorks {
			ws = append(ws, map[string]any{"kind": w.Kind, "quantity": w.Quantity, "description": w.Description})
		}
		props["extra_works"] = ws
	}
	if !it.Service && len(files) > 0 {
		props["layout_files"] = files
	}
	if it.Service {
		row.Unit = "усл"
	}
	row.Properties = props
	return row, nil
}

// splitName reads "Фамилия Имя Отчество" as Russian forms write it: two
// words are the family and first names, one word the first name, more
// than three are kept whole as the first name.
func splitName(s string) (last, first, middle string) {
	f := strings.Fields(s)
	switch len(f) {
	case 0:
		return "", "", ""
	case 1:
		return "", f[0], ""
	case 2:
		return f[0], f[1], ""
	case 3:
		return f[0], f[1], f[2]
	}
	return "", strings.Join(f, " "), ""
}

func accountFrom(o order.Order, userID int64) crm.Account {
	a := crm.Account{Title: "Контрагент ИНН " + o.INN, INN: o.INN, Kind: crm.AccountLegal, SourceID: "WEB",
		Comments: "Создан по заявке с сайта"}
	if len(o.INN) == 12 {
		a.Kind = crm.AccountIP
	}
	a.AssignedByID = userID
	if o.Phone != "" {
		a.Phones = []crm.Comm{{Value: o.Phone}}
	}
	if o.Email != "" {
		a.Emails = []crm.Comm{{Value: o.Email}}
	}
	return a
}

func activityText(o order.Order, src Source) string {
	var b strings.Builder
	if src.Note != "" {
		b.WriteString(src.Note + "\n")
	}
	for _, kv := range [][2]string{{"Контактное лицо", o.ContactPerson}, {"Телефон", o.Phone}, {"E-mail", o.Email}, {"ИНН", o.INN}, {"Описание", o.Description}} {
		if kv[1] != "" {
			b.WriteString(kv[0] + ": " + kv[1] + "\n")
		}
	}
	if n := len(o.Items); n > 0 {
		fmt.Fprintf(&b, "Товары и услуги: %d строк(и)\n", n)
	}
	return strings.TrimSpace(b.String())
}

// Created is what a source's create function made inside the write.
type Created struct {
	Entity string // store.EntityLead, …
	ID     int64
	// Merged: folded into the existing ID by the duplicate rule;
	// Warning: the records it may duplicate.
	Merged  bool
	Warning string
	Title   string // for the calendar entry
	Text    string // the calendar entry's description
}

// Record creates what create writes (a web form's lead, contact, …) in one
// transaction with the activity on the responsible user's calendar and the
// journal row; a content fault is journaled as failed and nothing else is
// written.
func (s *Service) Record(ctx context.Context, src Source, create func(t *store.Tx) (Created, error)) (Result, error) {
	var res Result
	var c Created
	// The calendar entry is readied outside the shared write; its owner
	// and subject are set inside, once the record exists.
	act := crm.Activity{Kind: crm.ActivityTask, Subject: "Заявка с сайта", Direction: "in"}
	act.AssignedByID = src.UserID
	pend, err := s.store.PendingActivity(ctx, src.Actor, &act, func(a *crm.Activity) {
		start := time.Now().UTC()
		end := start.Add(time.Hour)
		a.StartAt, a.EndAt = &start, &end
		a.OwnerType, a.OwnerID, a.Subject, a.Description = c.Entity, c.ID, crm.ClipRunes("Заявка с сайта: "+c.Title, 500), c.Text
	})
	if err != nil {
		return Result{}, fmt.Errorf("intake: calendar activity: %w", err)
	}
	err = s.store.Write(distributed(ctx, src), src.Actor, func(t *store.Tx) error {
		var err error
		if c, err = create(t); err != nil {
			return err
		}
		res = Result{Entity: c.Entity, RecordID: c.ID, Merged: c.Merged, Warning: c.Warning}
		if c.Entity == store.EntityLead {
			res.LeadID = c.ID
			// The task goes to whom the distribution rules gave the lead.
			if act.AssignedByID, err = t.AssignedOf(c.Entity, c.ID); err != nil {
				return err
			}
		}
		if err := t.Insert(pend); err != nil {
			return fmt.Errorf("intake: calendar activity: %w", err)
		}
		res.ActivityID = pend.ID()
		return s.finish(t, src, &res, nil)
	})
	if err != nil {
		if _, ok := AsFault(err); ok {
			return Result{}, s.Fail(ctx, src, err)
		}
		return Result{}, err
	}
	return res, nil
}

// distributed marks a source's leads for the distribution rules, unless
// the request named the responsible user.
func distributed(ctx context.Context, src Source) context.Context {
	if src.Fixed {
		return ctx
	}
	return store.WithIntake(ctx, store.Intake{Channel: src.Kind, FormID: src.ID})
}
