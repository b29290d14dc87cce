package automation_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"encoding/base64"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector/smtp/smtptest"
	"github.com/obmen/obmen/internal/crm"
)

// The gallery's two business processes of seed 003, as a user takes them:
// copied, the payment methods chosen, the SMTP connection «Почта» saved —
// a deal moved to «Счёт на предоплату» gets an invoice, its contact a
// letter with the payment link (through a real SMTP server on loopback),
// its timeline the number and link; a deal without products gets no letter
// and the reason in its timeline, one whose contact has no e-mail the
// invoice and "письмо не отправлено"; the invoice paid moves the deal to WON
// and gives its responsible user a call. On both engines.
func TestSeedProcessTemplates(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		s, ctx, admin := e.app.Store, context.Background(), crm.Actor{UserID: e.admin.ID}
		mta := smtptest.Start(t, &smtptest.Server{})
		e.must(e.do("POST", "/api/v1/connections", map[string]any{"type": "smtp", "name": "Почта", "settings": map[string]any{
			"host": mta.Host(), "port": mta.Port(), "security": "none", "from": "sales@example.ru:Отдел продаж", "auth": false}}), http.StatusCreated)
		forCompany, err := s.CreatePaymentMethod(ctx, admin, crm.PaymentMethod{Name: "Счёт для юрлиц", ClientType: crm.ClientCompany, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		forContact, err := s.CreatePaymentMethod(ctx, admin, crm.PaymentMethod{Name: "Оплата картой", ClientType: crm.ClientContact, Active: true,
			URLTemplate: "https://pay.example.ru/?order={number}&sum={amount}"})
		if err != nil {
			t.Fatal(err)
		}
		var list automation.TemplateList
		e.must(e.do("GET", "/api/v1/bundles/templates", nil), http.StatusOK).json(t, &list)
		defs := map[string]automation.Definition{}
		for _, tp := range list.Items {
			defs[tp.Name] = tp.Definition
		}
		invoicing, paid := defs["deal-invoice-email"], defs["invoice-paid-deal-call"]
		if len(invoicing.Steps) == 0 || len(paid.Steps) == 0 {
			t.Fatalf("the gallery lacks the seed's processes: %v", defs)
		}
		invoicing.Active, paid.Active = true, true
		invoicing.Steps[0].Input = map[string]any{"deal_id": "{{trigger.record.id}}", "pay_method_company": forCompany.ID, "pay_method_contact": forContact.ID}
		bInv, bPaid := e.bundle(invoicing), e.bundle(paid)

		client, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Ольга", LastName: "Смирнова",
			Comms: crm.Comms{Emails: []crm.Comm{{Value: "olga@example.ru", ValueType: "WORK"}}}})
		if err != nil {
			t.Fatal(err)
		}
		withRows, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Визитки", ContactIDs: []int64{client.ID},
			ProductRows: []crm.LineItem{{Name: "Визитки", Price: 12000, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		noRows, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Пустая", ContactIDs: []int64{client.ID}})
		if err != nil {
			t.Fatal(err)
		}
		mute, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Пётр"})
		if err != nil {
			t.Fatal(err)
		}
		noEmail, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Без почты", ContactIDs: []int64{mute.ID},
			ProductRows: []crm.LineItem{{Name: "Листовки", Price: 5000, Quantity: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []int64{withRows.ID, noRows.ID, noEmail.ID} {
			e.must(e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", d), map[string]any{"stage_id": "PREPAYMENT_INVOICE"}), http.StatusOK)
		}
		runs := map[int64]automation.Run{}
		for _, r := range e.waitRuns(bInv.ID, 3) {
			runs[r.RecordID] = e.run(r.ID)
		}
		ok := runs[withRows.ID]
		number, _ := path(ok.Steps[0].Output, "number").(string)
		if ok.Status != automation.StatusOK || number == "" {
			t.Fatalf("the invoicing run: %+v", ok)
		}
		payURL := "https://pay.example.ru/?order=" + number + "&sum=120.00"
		if got := path(ok.Steps[0].Output, "payment_url"); got != payURL {
			t.Fatalf("payment_url %v, want %s", got, payURL)
		}
		e.waitFor("the letter", 10*time.Second, func() bool { return len(mta.Letters()) > 0 })
		letters := mta.Letters()
		if len(letters) != 1 || strings.Join(letters[0].To, ",") != "olga@example.ru" || letters[0].From != "sales@example.ru" {
			t.Fatalf("letters: %+v", letters)
		}
		subject, body := readLetter(t, letters[0].Data)
		if subject != "Счёт № "+number+" на оплату" || !strings.Contains(body, "Здравствуйте, Ольга!") || !strings.Contains(body, "Оплатить: "+payURL) ||
			!strings.Contains(body, "/i/") {
			t.Fatalf("the letter: %q\n%s", subject, body)
		}
		if got := e.comments("deals", withRows.ID); len(got) != 1 || got[0] != "Счёт № "+number+": "+payURL+" — отправлен olga@example.ru" {
			t.Fatalf("the deal's timeline: %q", got)
		}
		bad := runs[noRows.ID]
		if bad.Steps[0].Result != automation.ResultError || bad.Steps[2].Result == automation.ResultOK {
			t.Fatalf("the run of a deal without products: %+v", bad)
		}
		if got := e.comments("deals", noRows.ID); len(got) != 1 || !strings.HasPrefix(got[0], "Счёт не создан: ") || !strings.Contains(got[0], "has no products") {
			t.Fatalf("the timeline of the deal without products: %q", got)
		}
		if got := e.comments("deals", noEmail.ID); len(got) != 1 || !strings.HasSuffix(got[0], " — письмо не отправлено") || !strings.HasPrefix(got[0], "Счёт № INV-") {
			t.Fatalf("the timeline of the deal whose contact has no e-mail: %q", got)
		}
		if n := len(mta.Letters()); n != 1 {
			t.Fatalf("%d letters, want 1: a deal without an invoice sends none", n)
		}

		// The invoice paid: the deal is won, its responsible user gets a call.
		v, err := s.InvoiceByNumber(ctx, number)
		if err != nil {
			t.Fatal(err)
		}
		e.must(e.do("PATCH", fmt.Sprintf("/api/v1/invoices/%d", v.ID), map[string]any{"status": "P"}), http.StatusOK)
		r := e.run(e.waitRuns(bPaid.ID, 1)[0].ID)
		if r.Status != automation.StatusOK {
			t.Fatalf("the payment run: %+v", r)
		}
		d, err := s.GetDeal(ctx, withRows.ID)
		if err != nil {
			t.Fatal(err)
		}
		call := r.Steps[1].Output
		if d.StageID != "WON" || path(call, "kind") != "call" || path(call, "owner_type") != "deal" ||
			path(call, "owner_id") != float64(withRows.ID) || path(call, "assigned_by_id") != float64(d.AssignedByID) ||
			path(call, "subject") != "Позвонить клиенту: счёт № "+number+" оплачен" {
			t.Fatalf("deal at %s; the call: %v", d.StageID, call)
		}
	})
}

// readLetter is a letter's decoded subject and text.
func readLetter(t *testing.T, data []byte) (string, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(h func(string) string, r io.Reader)
	walk = func(h func(string) string, r io.Reader) {
		mt, params, _ := mime.ParseMediaType(h("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get, p)
			}
		}
		switch strings.ToLower(h("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, _ := io.ReadAll(r)
		text.Write(b)
	}
	walk(m.Header.Get, m.Body)
	return subject, text.String()
}
