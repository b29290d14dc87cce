package action

import (
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

const testPublicURL = "https://crm.example.ru"

// invoiceEnv is env with the server's public URL set, as the app sets it.
func invoiceEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		reg := automation.NewRegistry(nil)
		if err := Register(reg, Deps{Store: s, HTTP: httpx.NewOutboundClient(loopback), PublicURL: testPublicURL}); err != nil {
			t.Fatal(err)
		}
		fn(t, &env{t: t, ctx: t.Context(), s: s, admin: admin, reg: reg})
	})
}

// billing is what the invoice tests bill: payment methods, a seller, and
// buyers with and without requisites.
type billing struct {
	forCompany, forContact, withTemplate int64
	seller, sellerReq, sellerBank        int64
	company, companyReq, companyBank     int64
	bareCompany                          int64
	person, personReq, personBank        int64
	bareContact                          int64
	rows                                 []crm.LineItem
}

// must is v, or a panic (a failed test) on err: the setup's writes.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newBilling(t *testing.T, e *env) billing {
	var b billing
	ctx, a := e.ctx, e.admin
	b.forCompany = must(e.s.CreatePaymentMethod(ctx, a, crm.PaymentMethod{Name: "Счёт для юрлиц", ClientType: crm.ClientCompany, Active: true})).ID
	b.forContact = must(e.s.CreatePaymentMethod(ctx, a, crm.PaymentMethod{Name: "Счёт для физлиц", ClientType: crm.ClientContact, Active: true})).ID
	b.withTemplate = must(e.s.CreatePaymentMethod(ctx, a, crm.PaymentMethod{Name: "ЮKassa", ClientType: crm.ClientCompany, Active: true,
		URLTemplate: "https://pay.example.ru/checkout?order={number}&sum={amount}&back={public_url}"})).ID
	// The first requisite and bank account by id are chosen, though the
	// later ones sort first.
	twoRequisites := func(owner crm.Requisite, first, second crm.Requisite) (int64, int64) {
		first.AccountID, first.ContactID, first.Sort = owner.AccountID, owner.ContactID, 900
		first.BankDetails = []crm.BankDetail{
			{Name: "Основной", Bank: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001", Sort: 900},
			{Name: "Запасной", Bank: "АО Альфа-Банк", BIK: "044525593", CorrAccount: "30101810200000000593", Account: "40702810000000000002", Sort: 10},
		}
		r := must(e.s.AddRequisite(ctx, a, first))
		second.AccountID, second.ContactID, second.Sort = owner.AccountID, owner.ContactID, 10
		must(e.s.AddRequisite(ctx, a, second))
		var bd int64
		for _, x := range r.BankDetails {
			if x.Account == "40702810938000000001" {
				bd = x.ID
			}
		}
		return r.ID, bd
	}
	b.seller = must(e.s.CreateAccount(ctx, a, crm.Account{Title: "Обмен"})).ID
	b.sellerReq, b.sellerBank = twoRequisites(crm.Requisite{AccountID: b.seller},
		crm.Requisite{Name: "Основные", FullName: "ООО «Обмен»", INN: "7736207543", KPP: "773601001", Address: crm.Address{City: "Москва", Street: "Льва Толстого", House: "16"}},
		crm.Requisite{Name: "Старые", FullName: "ООО «Обмен» (старое)", INN: "7736207543"})
	b.company = must(e.s.CreateAccount(ctx, a, crm.Account{Title: "Ромашка", INN: "7707083893"})).ID
	b.companyReq, b.companyBank = twoRequisites(crm.Requisite{AccountID: b.company},
		crm.Requisite{Name: "Основные", FullName: "ООО «Ромашка»", INN: "7707083893", KPP: "770701001"},
		crm.Requisite{Name: "Другие", FullName: "ООО «Ромашка-2»", INN: "7707083893"})
	b.bareCompany = must(e.s.CreateAccount(ctx, a, crm.Account{Title: "Лютик"})).ID
	b.person = must(e.s.CreateContact(ctx, a, crm.Contact{Name: "Иван", LastName: "Петров",
		Comms: crm.Comms{Phones: []crm.Comm{{Value: "+79250000001", ValueType: "WORK"}}}})).ID
	b.personReq, b.personBank = twoRequisites(crm.Requisite{ContactID: b.person},
		crm.Requisite{Name: "Паспорт", PresetID: crm.PresetPerson, LastName: "Петров", FirstName: "Иван", INN: "500100732259"},
		crm.Requisite{Name: "ИП", PresetID: crm.PresetIP, LastName: "Петров", FirstName: "Иван", INN: "500100732259"})
	b.bareContact = must(e.s.CreateContact(ctx, a, crm.Contact{Name: "Анна", LastName: "Смирнова"})).ID
	vat := crm.Amount(2000)
	b.rows = []crm.LineItem{{Name: "Консультация", Price: 10000, Quantity: 1000, VATRate: &vat, VATIncluded: true},
		{Name: "Доставка", Price: 1000, Quantity: 2000}}
	return b
}

func (b billing) deal(_ *testing.T, e *env, account int64, contacts []int64, rows []crm.LineItem) int64 {
	return must(e.s.CreateDeal(e.ctx, e.admin, crm.Deal{Title: "Сделка", AccountID: account, ContactIDs: contacts, ProductRows: rows})).ID
}

func (b billing) input(deal int64) map[string]any {
	return map[string]any{"deal_id": deal, "pay_method_company": b.forCompany, "pay_method_contact": b.forContact, "seller_account_id": b.seller}
}

// invoice.from_deal in each case of the buyer rule: which of the deal's
// parties the invoice bills, whose requisite (the first by id, with its
// first bank account) it links, which payment method it takes, and the
// links it gives.
func TestInvoiceFromDeal(t *testing.T) {
	t.Parallel()
	invoiceEnv(t, func(t *testing.T, e *env) {
		b := newBilling(t, e)
		cases := []struct {
			name               string
			account            int64
			contacts           []int64
			seller             any // the step's seller_account_id
			wantAccount        int64
			wantContact        int64
			wantReq, wantBank  int64
			wantSeller, wantSB int64
			wantMethod         int64
			warnings           []string
		}{
			{name: "company and contact: the company's requisites, the contact kept for the person", account: b.company, contacts: []int64{b.person},
				seller: b.seller, wantAccount: b.company, wantContact: b.person, wantReq: b.companyReq, wantBank: b.companyBank,
				wantSeller: b.sellerReq, wantSB: b.sellerBank, wantMethod: b.forCompany},
			{name: "company only", account: b.company, seller: b.seller, wantAccount: b.company, wantReq: b.companyReq, wantBank: b.companyBank,
				wantSeller: b.sellerReq, wantSB: b.sellerBank, wantMethod: b.forCompany},
			{name: "contact only: the contact's requisites and the method for contacts", contacts: []int64{b.person}, seller: b.seller,
				wantContact: b.person, wantReq: b.personReq, wantBank: b.personBank, wantSeller: b.sellerReq, wantSB: b.sellerBank, wantMethod: b.forContact},
			{name: "a company without requisites: an invoice all the same", account: b.bareCompany, contacts: []int64{b.bareContact}, seller: b.seller,
				wantAccount: b.bareCompany, wantContact: b.bareContact, wantSeller: b.sellerReq, wantSB: b.sellerBank, wantMethod: b.forCompany,
				warnings: []string{"has no requisites"}},
			{name: "a contact without requisites", contacts: []int64{b.bareContact}, seller: b.seller, wantContact: b.bareContact,
				wantSeller: b.sellerReq, wantSB: b.sellerBank, wantMethod: b.forContact, warnings: []string{"has no requisites"}},
			{name: "a wrong seller: an invoice without the seller's requisites", account: b.company, seller: int64(999999),
				wantAccount: b.company, wantReq: b.companyReq, wantBank: b.companyBank, wantMethod: b.forCompany,
				warnings: []string{"seller account 999999 is not found"}},
			{name: "a seller without requisites", account: b.company, seller: b.bareCompany,
				wantAccount: b.company, wantReq: b.companyReq, wantBank: b.companyBank, wantMethod: b.forCompany,
				warnings: []string{"has no requisites: the invoice has no seller's"}},
			{name: "no seller given, no setting", account: b.company, seller: nil,
				wantAccount: b.company, wantReq: b.companyReq, wantBank: b.companyBank, wantMethod: b.forCompany,
				warnings: []string{"no seller account is given"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				deal := b.deal(t, e, c.account, c.contacts, b.rows)
				in := b.input(deal)
				if c.seller == nil {
					delete(in, "seller_account_id")
				} else {
					in["seller_account_id"] = c.seller
				}
				out := e.ok(e.call(), "invoice.from_deal", in)
				number, _ := out["number"].(string)
				if !strings.HasPrefix(number, "INV-") || out["error"] != "" {
					t.Fatalf("output %v", out)
				}
				v := must(e.s.InvoiceByNumber(e.ctx, number))
				if v.AccountID != c.wantAccount || v.ContactID != c.wantContact || v.DealID != deal || v.PaymentMethodID != c.wantMethod {
					t.Errorf("invoice %+v: account %d contact %d method %d, want %d %d %d", v, v.AccountID, v.ContactID, v.PaymentMethodID,
						c.wantAccount, c.wantContact, c.wantMethod)
				}
				if len(v.Items) != 2 || v.Items[0].Name != "Консультация" || v.Items[1].Quantity != 2000 || v.Total != 12000 || v.Tax != 1667 {
					t.Errorf("rows %+v, total %s, tax %s", v.Items, v.Total, v.Tax)
				}
				l := must(e.s.GetRequisiteLink(e.ctx, store.EntityInvoice, v.ID))
				if l.RequisiteID != c.wantReq || l.BankDetailID != c.wantBank || l.MCRequisiteID != c.wantSeller || l.MCBankDetailID != c.wantSB {
					t.Errorf("link %+v, want requisite %d bank %d, seller %d bank %d", l, c.wantReq, c.wantBank, c.wantSeller, c.wantSB)
				}
				pub, _ := out["public_url"].(string)
				token := strings.TrimPrefix(pub, testPublicURL+"/i/")
				if len(token) != 43 || token != v.PublicToken || out["payment_url"] != pub || v.PaymentURL != pub || out["pdf_url"] != pub+".pdf" {
					t.Errorf("links: %v; invoice's payment_url %q", out, v.PaymentURL)
				}
				got, _ := out["warnings"].([]any)
				if len(got) != len(c.warnings) {
					t.Fatalf("warnings %q, want %q", got, c.warnings)
				}
				for i, w := range c.warnings {
					if s, _ := got[i].(string); !strings.Contains(s, w) {
						t.Errorf("warning %q, want it to say %q", s, w)
					}
				}
			})
		}

		t.Run("the payment method's link", func(t *testing.T) {
			deal := b.deal(t, e, b.company, nil, b.rows)
			in := b.input(deal)
			in["pay_method_company"] = b.withTemplate
			out := e.ok(e.call(), "invoice.from_deal", in)
			want := "https://pay.example.ru/checkout?order=" + out["number"].(string) + "&sum=120.00&back=" +
				strings.ReplaceAll(strings.ReplaceAll(out["public_url"].(string), ":", "%3A"), "/", "%2F")
			if out["payment_url"] != want {
				t.Errorf("payment_url %v, want %s", out["payment_url"], want)
			}
		})

		t.Run("the seller from the setting", func(t *testing.T) {
			if err := e.s.SetSetting(e.ctx, e.admin, store.SellerSetting, itoa(b.seller)); err != nil {
				t.Fatal(err)
			}
			defer e.s.SetSetting(e.ctx, e.admin, store.SellerSetting, "0")
			in := b.input(b.deal(t, e, b.company, nil, b.rows))
			delete(in, "seller_account_id")
			out := e.ok(e.call(), "invoice.from_deal", in)
			l := must(e.s.GetRequisiteLink(e.ctx, store.EntityInvoice, id(map[string]any{"id": out["invoice_id"]})))
			if l.MCRequisiteID != b.sellerReq || len(out["warnings"].([]any)) != 0 {
				t.Errorf("seller by the setting: link %+v, output %v", l, out)
			}
		})

		t.Run("refused", func(t *testing.T) {
			before := e.count("invoices")
			for _, c := range []struct {
				name  string
				in    map[string]any
				field string
				says  string
			}{
				{"a deal without products", b.input(b.deal(t, e, b.company, []int64{b.person}, nil)), "deal_id", "has no products"},
				{"a deal with neither company nor contact", b.input(b.deal(t, e, 0, nil, b.rows)), "deal_id", "neither a company nor a contact"},
				{"a method for contacts given for companies", func() map[string]any {
					in := b.input(b.deal(t, e, b.company, nil, b.rows))
					in["pay_method_company"] = b.forContact
					return in
				}(), "pay_method_company", "is for contact clients"},
				{"an unknown method", func() map[string]any {
					in := b.input(b.deal(t, e, 0, []int64{b.person}, b.rows))
					in["pay_method_contact"] = int64(4242)
					return in
				}(), "pay_method_contact", "no payment method with id 4242"},
				{"no method for contacts", map[string]any{"deal_id": int64(1), "pay_method_company": b.forCompany}, "pay_method_contact", "required"},
				{"no deal", map[string]any{"pay_method_company": b.forCompany, "pay_method_contact": b.forContact}, "deal_id", "required"},
			} {
				err := e.fails(e.call(), "invoice.from_deal", c.in, c.field)
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("%s: %v, want it to say %q", c.name, err, c.says)
				}
			}
			_, err := e.run(e.call(), "invoice.from_deal", b.input(999999))
			wantNotFound(t, err, "deal 999999 not found")
			if n := e.count("invoices"); n != before {
				t.Errorf("a refused step made %d invoices", n-before)
			}
		})

		t.Run("once per step", func(t *testing.T) {
			deal := b.deal(t, e, b.company, []int64{b.person}, b.rows)
			before := e.count("invoices")
			c := e.call()
			first := e.ok(c, "invoice.from_deal", b.input(deal))
			again := e.ok(c, "invoice.from_deal", b.input(deal))
			if first["number"] != again["number"] || first["public_url"] != again["public_url"] || first["payment_url"] != again["payment_url"] {
				t.Errorf("a retried step gave another invoice: %v, then %v", first, again)
			}
			if n := e.count("invoices"); n != before+1 {
				t.Errorf("%d invoices made, want 1", n-before)
			}
		})

		t.Run("test mode", func(t *testing.T) {
			deal := b.deal(t, e, b.company, nil, b.rows)
			before, invoices := e.snapshot(), e.count("invoices")
			out, err := e.run(e.dry(), "invoice.from_deal", b.input(deal))
			if err != nil {
				t.Fatal(err)
			}
			wantPreview(t, out, "invoice deal "+itoa(deal))
			e.unchanged(before)
			if e.count("invoices") != invoices {
				t.Error("test mode made an invoice")
			}
			e.fails(e.dry(), "invoice.from_deal", b.input(b.deal(t, e, b.company, nil, nil)), "deal_id")
		})
	})
}

// invoice.status gives the status letter, its name and its meaning.
func TestInvoiceStatus(t *testing.T) {
	t.Parallel()
	invoiceEnv(t, func(t *testing.T, e *env) {
		v := must(e.s.CreateInvoice(e.ctx, e.admin, crm.Invoice{Items: []crm.LineItem{{Name: "Товар", Price: 100, Quantity: 1000}}}))
		for _, c := range []struct {
			status, name   string
			paid, declined bool
		}{{"N", "Новый", false, false}, {"S", "Отправлен клиенту", false, false}, {"P", "Оплачен", true, false}, {"D", "Отклонён", false, true}} {
			if _, err := e.s.UpdateInvoice(e.ctx, e.admin, v.ID, func(x *crm.Invoice) error { x.Status = c.status; return nil }); err != nil {
				t.Fatal(err)
			}
			out := e.ok(e.call(), "invoice.status", map[string]any{"id": v.ID})
			if out["status"] != c.status || out["name"] != c.name || out["paid"] != c.paid || out["declined"] != c.declined || out["number"] != v.Number {
				t.Errorf("status %s: %v", c.status, out)
			}
		}
		_, err := e.run(e.call(), "invoice.status", map[string]any{"id": int64(999999)})
		wantNotFound(t, err, "invoice 999999 not found")
		e.fails(e.call(), "invoice.status", map[string]any{}, "id")
	})
}

// go test -bench InvoiceFromDeal -run XXX ./internal/automation/action
// (SQLite in a temporary directory): one invoice of a deal with two rows,
// a company with requisites and a seller, per step.
func BenchmarkInvoiceFromDeal(b *testing.B) {
	s := store.New(storetest.OpenSQLite(b))
	admin := storetest.Admin(b, s)
	reg := automation.NewRegistry(nil)
	if err := Register(reg, Deps{Store: s, HTTP: httpx.NewOutboundClient(loopback), PublicURL: testPublicURL}); err != nil {
		b.Fatal(err)
	}
	e := &env{t: &testing.T{}, ctx: b.Context(), s: s, admin: admin, reg: reg}
	bl := newBilling(nil, e)
	deal := bl.deal(nil, e, bl.company, []int64{bl.person}, bl.rows)
	a, _ := reg.Action("invoice.from_deal")
	in := bl.input(deal)
	for b.Loop() {
		if _, err := a.Run(b.Context(), e.call(), in); err != nil {
			b.Fatal(err)
		}
	}
}
