// Package invoice prints invoices: the Russian "Счёт на оплату" as an
// HTML page and a PDF, the buyer's and the seller's data as seed 003's
// invoice.from_deal chooses them, the total in words, and the public page
// that serves both under an unguessable link. It reads the CRM through a
// small interface and never writes.
package invoice

import (
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// Party is a seller or a buyer as the invoice prints it.
type Party struct {
	Name    string
	INN     string
	KPP     string
	Address string
	Phone   string
	Email   string
	// Contact is the contact person (the deal's contact when the buyer
	// is a company).
	Contact string
	Bank    Bank
}

// Bank is a bank account as the invoice prints it.
type Bank struct {
	Name        string
	BIK         string
	CorrAccount string
	Account     string
}

// Line is a product row.
type Line struct {
	N        int
	Name     string
	Quantity string
	Unit     string
	Price    string
	Sum      string
}

// Doc is a printed invoice.
type Doc struct {
	Number   string
	Date     string // "5 декабря 2026 г."
	Currency string
	Seller   Party
	Buyer    Party
	Lines    []Line
	// VAT is the line under the total: "В том числе НДС" with the sum,
	// or "Без НДС".
	VATLabel string
	VAT      string
	Total    string
	Words    string
	Count    string // "Всего наименований 2, на сумму 120,00 руб."
	// PaymentURL is where to pay when it is not the page itself.
	PaymentURL string
}

// Buyer is the buyer's data by seed 003's rule for a deal with a company
// and a contact, a company only, or a contact only (account and contact
// nil when absent; req and bank are the invoice's linked requisite and
// bank account of the buyer, nil when none):
//   - company and contact: the requisites are the company's; the name is
//     the requisite's, else the company card's; the contact person, the
//     phone and the e-mail are the contact's; the rest the company's
//     requisite, else its card;
//   - company only: all from the company's requisite, else its card;
//   - contact only: all from the contact's requisite, else its card.
//
// Wherever both give a value, the requisite's wins.
func Buyer(account *crm.Account, contact *crm.Contact, req *crm.Requisite, bank *crm.BankDetail) Party {
	var p Party
	if req != nil {
		p.Name = requisiteName(req)
		p.INN, p.KPP = req.INN, req.KPP
		p.Address = req.Address.String()
	}
	if bank != nil {
		p.Bank = Bank{Name: bank.Bank, BIK: bank.BIK, CorrAccount: bank.CorrAccount, Account: bank.Account}
	}
	switch {
	case account != nil:
		p.Name = crm.FirstText(p.Name, account.FullName, account.Title)
		p.INN = crm.FirstText(p.INN, account.INN)
		p.KPP = crm.FirstText(p.KPP, account.KPP)
		p.Address = crm.FirstText(p.Address, account.LegalAddress.String(), account.ActualAddress.String())
		if contact != nil {
			p.Contact = personName(contact)
			p.Phone, p.Email = firstComm(contact.Phones), firstComm(contact.Emails)
		}
		// The company's own card fills what the contact has not.
		p.Phone = crm.FirstText(p.Phone, firstComm(account.Phones))
		p.Email = crm.FirstText(p.Email, firstComm(account.Emails))
	case contact != nil:
		p.Name = crm.FirstText(p.Name, personName(contact))
		p.Address = crm.FirstText(p.Address, contact.Address.String())
		p.Phone, p.Email = firstComm(contact.Phones), firstComm(contact.Emails)
	}
	return p
}

// Seller is the seller's data: its linked requisite and bank account,
// the account's title when the requisite names nothing.
func Seller(req *crm.Requisite, bank *crm.BankDetail, accountTitle string) Party {
	var p Party
	if req != nil {
		p.Name = crm.FirstText(requisiteName(req), accountTitle)
		p.INN, p.KPP, p.Address = req.INN, req.KPP, req.Address.String()
	}
	if bank != nil {
		p.Bank = Bank{Name: bank.Bank, BIK: bank.BIK, CorrAccount: bank.CorrAccount, Account: bank.Account}
	}
	return p
}

// requisiteName is the name a requisite gives: the organisation's full,
// else short name; a person's (ИП, физ. лицо) full name.
func requisiteName(r *crm.Requisite) string {
	if n := crm.FirstText(r.FullName, r.ShortName); n != "" {
		return n
	}
	person := joinNonEmpty(r.LastName, r.FirstName, r.SecondName)
	if person != "" && r.PresetID == crm.PresetIP {
		return "ИП " + person
	}
	return person
}

func personName(c *crm.Contact) string { return joinNonEmpty(c.LastName, c.Name, c.SecondName) }

func firstComm(cs []crm.Comm) string {
	for _, c := range cs {
		if v := strings.TrimSpace(c.Value); v != "" {
			return v
		}
	}
	return ""
}

func joinNonEmpty(vs ...string) string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}
