package invoice_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/invoice"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// Billed makes a billed invoice of 120 rubles (2 rows, VAT 20% inside
// the first) from a company with requisites to a seller with requisites.
func Billed(t *testing.T, s *store.Store, admin crm.Actor, base string) store.Billed {
	t.Helper()
	ctx := t.Context()
	pm, err := s.CreatePaymentMethod(ctx, admin, crm.PaymentMethod{Name: "Счёт", ClientType: crm.ClientCompany, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	seller, err := s.CreateAccount(ctx, admin, crm.Account{Title: "Обмен"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRequisite(ctx, admin, crm.Requisite{AccountID: seller.ID, Name: "Основные", FullName: "ООО «Обмен»", INN: "7736207543",
		KPP: "773601001", Address: crm.Address{City: "Москва", Street: "ул. Льва Толстого", House: "16"},
		BankDetails: []crm.BankDetail{{Name: "Основной", Bank: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}}}); err != nil {
		t.Fatal(err)
	}
	buyer, err := s.CreateAccount(ctx, admin, crm.Account{Title: "Ромашка"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRequisite(ctx, admin, crm.Requisite{AccountID: buyer.ID, Name: "Основные", FullName: "ООО «Ромашка»", INN: "7707083893", KPP: "770701001"}); err != nil {
		t.Fatal(err)
	}
	contact, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Иван", LastName: "Петров", Comms: crm.Comms{Emails: []crm.Comm{{Value: "ivan@romashka.ru", ValueType: "WORK"}}}})
	if err != nil {
		t.Fatal(err)
	}
	vat := crm.Amount(2000)
	deal, err := s.CreateDeal(ctx, admin, crm.Deal{Title: "Поставка", AccountID: buyer.ID, ContactIDs: []int64{contact.ID}, ProductRows: []crm.LineItem{
		{Name: "Консультация <b>юриста</b>", Price: 10000, Quantity: 1000, VATRate: &vat, VATIncluded: true},
		{Name: "Доставка", Price: 1000, Quantity: 2000, Unit: "км"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BillDeal(ctx, admin, deal.ID, store.BillOptions{CompanyMethodID: pm.ID, SellerAccountID: seller.ID, PublicBase: base + invoice.PathPrefix})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestPublicPage(t *testing.T) {
	t.Parallel()
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		mux := http.NewServeMux()
		invoice.New(s, slog.New(slog.DiscardHandler), httpx.NewLimiter(time.Hour, 10)).Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		b := Billed(t, s, admin, srv.URL)
		v := b.Invoice

		resp, page := get(t, srv.Client(), b.PublicURL)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "private, no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
		}
		html := string(page)
		for _, want := range []string{
			"Счёт на оплату № " + v.Number + " от ", "ООО «Обмен», ИНН 7736207543, КПП 773601001, Москва, ул. Льва Толстого, 16",
			"ООО «Ромашка», ИНН 7707083893, КПП 770701001", "контактное лицо: Петров Иван", "ivan@romashka.ru",
			"ПАО Сбербанк", "044525225", "30101810400000000225", "40702810938000000001",
			"Консультация &lt;b&gt;юриста&lt;/b&gt;", "<td>км</td>", "120,00", "В том числе НДС", "16,67",
			"Сто двадцать рублей 00 копеек", "Всего наименований 2, на сумму 120,00 руб.", `href="` + strings.TrimPrefix(b.PublicURL, srv.URL+"/i/") + `.pdf"`,
		} {
			if !strings.Contains(html, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if strings.Contains(html, "style=") || strings.Contains(html, "<script") {
			t.Error("inline style or script: the CSP forbids them")
		}

		resp, pdf := get(t, srv.Client(), b.PublicURL+".pdf")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 2000 {
			t.Fatalf("pdf: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(pdf))
		}
		if dir := os.Getenv("OBMEN_INVOICE_DUMP"); dir != "" {
			_ = os.WriteFile(dir+"/invoice.pdf", pdf, 0o644)
			_ = os.WriteFile(dir+"/invoice.html", page, 0o644)
		}
		text := pdfText(t, pdf)
		for _, want := range []string{"Счёт на оплату № " + v.Number, "Сто двадцать рублей 00 копеек", "ООО «Ромашка»", "ООО «Обмен»",
			"40702810938000000001", "Консультация <b>юриста</b>", "В том числе НДС:", "16,67"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF's text lacks %q:\n%s", want, text)
			}
		}

		// Opened again: the same document (from the cache); after the
		// buyer's requisite changes, the new name (the cache is keyed by
		// what the PDF prints).
		if _, again := get(t, srv.Client(), b.PublicURL+".pdf"); !bytes.Equal(again, pdf) {
			t.Error("the PDF opened again differs")
		}
		l, err := s.GetRequisiteLink(t.Context(), store.EntityInvoice, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeRequisite(t.Context(), admin, l.RequisiteID, func(r *crm.Requisite) error { r.FullName = "ООО «Ромашка и Ко»"; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, changed := get(t, srv.Client(), b.PublicURL+".pdf"); !strings.Contains(pdfText(t, changed), "ООО «Ромашка и Ко»") {
			t.Error("the PDF after the buyer's requisite changed still shows the old name")
		}

		resp, _ = get(t, srv.Client(), srv.URL+"/i/invoice.css")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		// Anything but the token is not found: another token, a short
		// one, the invoice's id or number.
		for _, bad := range []string{strings.Repeat("A", 43), "x", itoa(v.ID), v.Number, v.Number + ".pdf"} {
			if resp, _ := get(t, srv.Client(), srv.URL+"/i/"+bad); resp.StatusCode != 404 {
				t.Errorf("/i/%s: %d", bad, resp.StatusCode)
			}
		}
		// An invoice in the recycle bin has no page.
		if err := s.Delete(t.Context(), admin, store.EntityInvoice, v.ID); err != nil {
			t.Fatal(err)
		}
		if resp, _ := get(t, srv.Client(), b.PublicURL); resp.StatusCode != 404 {
			t.Errorf("a deleted invoice's page: %d", resp.StatusCode)
		}
		// The eleventh page of one address within the hour is refused.
		if resp, _ := get(t, srv.Client(), b.PublicURL); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("past the limit: %d", resp.StatusCode)
		}
	})
}

// pdfText is the text pdftotext reads from a PDF. Without the tool the
// test is skipped — except under scripts/test.sh (OBMEN_TEST_CI) or a CI,
// which install it and must run the test.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("OBMEN_TEST_CI") == "" && os.Getenv("CI") == "" {
			t.Skip("pdftotext not found (apt-get install poppler-utils; scripts/test.sh installs it): the PDF's text is not checked")
		}
		t.Fatal("pdftotext not found (apt-get install poppler-utils)")
	}
	cmd := exec.Command(tool, "-enc", "UTF-8", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// The layout puts runs of spaces between columns.
	return strings.Join(strings.Fields(string(out)), " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
