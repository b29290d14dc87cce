package invoice

import (
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// The buyer's data, by seed 003's rule, in each of its cases.
func TestBuyer(t *testing.T) {
	t.Parallel()
	account := &crm.Account{Title: "Ромашка", FullName: "ООО «Ромашка» (карточка)", INN: "7707083893", KPP: "770701001",
		LegalAddress: crm.Address{City: "Москва", Street: "Тверская", House: "1"},
		Comms:        crm.Comms{Phones: []crm.Comm{{Value: "+74950000001"}}, Emails: []crm.Comm{{Value: "office@romashka.ru"}}}}
	bare := &crm.Account{Title: "Лютик"}
	contact := &crm.Contact{Name: "Иван", LastName: "Петров", SecondName: "Сергеевич", Address: crm.Address{City: "Тула"},
		Comms: crm.Comms{Phones: []crm.Comm{{Value: "+79990000002"}}, Emails: []crm.Comm{{Value: "ivan@example.ru"}}}}
	noComms := &crm.Contact{Name: "Анна", LastName: "Смирнова"}
	companyReq := &crm.Requisite{PresetID: crm.PresetCompany, FullName: "ООО «Ромашка» (реквизит)", INN: "7707083893", KPP: "771001001",
		Address: crm.Address{Postcode: "101000", City: "Москва", Street: "Мясницкая", House: "5"}}
	unnamedReq := &crm.Requisite{PresetID: crm.PresetCompany, INN: "7736207543"}
	personReq := &crm.Requisite{PresetID: crm.PresetPerson, LastName: "Петров", FirstName: "Иван", INN: "500100732259",
		Address: crm.Address{City: "Калуга"}}
	ipReq := &crm.Requisite{PresetID: crm.PresetIP, LastName: "Петров", FirstName: "Иван", INN: "500100732259"}
	bank := &crm.BankDetail{Bank: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}

	cases := []struct {
		name    string
		account *crm.Account
		contact *crm.Contact
		req     *crm.Requisite
		bank    *crm.BankDetail
		want    Party
	}{
		{"company and contact, with requisites: the name, INN/KPP and address from the requisite, the person, phone and e-mail from the contact",
			account, contact, companyReq, bank, Party{Name: "ООО «Ромашка» (реквизит)", INN: "7707083893", KPP: "771001001",
				Address: "101000, Москва, Мясницкая, 5", Contact: "Петров Иван Сергеевич", Phone: "+79990000002", Email: "ivan@example.ru",
				Bank: Bank{Name: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}}},
		{"company and contact, the requisite names nothing: the name from the card, INN from the requisite, KPP from the card",
			account, contact, unnamedReq, nil, Party{Name: "ООО «Ромашка» (карточка)", INN: "7736207543", KPP: "770701001",
				Address: "Москва, Тверская, 1", Contact: "Петров Иван Сергеевич", Phone: "+79990000002", Email: "ivan@example.ru"}},
		{"company and contact, no requisites: all from the company's card, the person from the contact",
			account, contact, nil, nil, Party{Name: "ООО «Ромашка» (карточка)", INN: "7707083893", KPP: "770701001",
				Address: "Москва, Тверская, 1", Contact: "Петров Иван Сергеевич", Phone: "+79990000002", Email: "ivan@example.ru"}},
		{"company and a contact without phone or e-mail: the company's",
			account, noComms, companyReq, nil, Party{Name: "ООО «Ромашка» (реквизит)", INN: "7707083893", KPP: "771001001",
				Address: "101000, Москва, Мясницкая, 5", Contact: "Смирнова Анна", Phone: "+74950000001", Email: "office@romashka.ru"}},
		{"company only, with requisites: the requisite wins, the phone and e-mail from the card",
			account, nil, companyReq, bank, Party{Name: "ООО «Ромашка» (реквизит)", INN: "7707083893", KPP: "771001001",
				Address: "101000, Москва, Мясницкая, 5", Phone: "+74950000001", Email: "office@romashka.ru",
				Bank: Bank{Name: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}}},
		{"company only, a bare card without requisites: its title",
			bare, nil, nil, nil, Party{Name: "Лютик"}},
		{"contact only, with a person's requisite: the requisite's name, INN and address",
			nil, contact, personReq, nil, Party{Name: "Петров Иван", INN: "500100732259", Address: "Калуга", Phone: "+79990000002", Email: "ivan@example.ru"}},
		{"contact only, a sole proprietor's requisite",
			nil, contact, ipReq, bank, Party{Name: "ИП Петров Иван", INN: "500100732259", Address: "Тула", Phone: "+79990000002", Email: "ivan@example.ru",
				Bank: Bank{Name: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}}},
		{"contact only, no requisites: all from the card",
			nil, contact, nil, nil, Party{Name: "Петров Иван Сергеевич", Address: "Тула", Phone: "+79990000002", Email: "ivan@example.ru"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Buyer(c.account, c.contact, c.req, c.bank); got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestSeller(t *testing.T) {
	t.Parallel()
	req := &crm.Requisite{ShortName: "ООО «Обмен»", INN: "7701234567", KPP: "770101001", Address: crm.Address{City: "Москва"}}
	bank := &crm.BankDetail{Bank: "АО «Банк»", BIK: "044525999", CorrAccount: "30101810000000000999", Account: "40702810000000000042"}
	if got := Seller(req, bank, "Обмен"); got.Name != "ООО «Обмен»" || got.Bank.Account != bank.Account || got.KPP != "770101001" {
		t.Errorf("seller: %+v", got)
	}
	if got := Seller(&crm.Requisite{INN: "7701234567"}, nil, "Обмен"); got.Name != "Обмен" {
		t.Errorf("a requisite without a name takes the account's title: %+v", got)
	}
	if got := Seller(nil, nil, ""); got != (Party{}) {
		t.Errorf("no seller: %+v", got)
	}
}

func TestMoneyAndDate(t *testing.T) {
	t.Parallel()
	for a, want := range map[crm.Amount]string{0: "0,00", 12000: "120,00", 123456789: "1 234 567,89", -100050: "-1 000,50", 99: "0,99"} {
		if got := Money(a); got != want {
			t.Errorf("Money(%d) = %q, want %q", a, got, want)
		}
	}
	for d, want := range map[string]string{"2026-12-05": "5 декабря 2026 г.", "2027-01-31": "31 января 2027 г.", "": "", "bad": "bad"} {
		if got := DateRu(d); got != want {
			t.Errorf("DateRu(%q) = %q, want %q", d, got, want)
		}
	}
}
