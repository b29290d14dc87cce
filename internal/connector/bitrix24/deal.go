package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// companyCmds are the commands that make an account's company with its
// default requisite and that one's bank details, keyed "company",
// "requisite", "bank0"…; an account already in the portal gets its title
// updated alone.
func companyCmds(p Portal, acc crm.Account, known int64) []Cmd {
	fields := map[string]any{"TITLE": acc.Title}
	if known != 0 {
		return []Cmd{{Key: "company", Method: "crm.company.update", Params: map[string]any{"id": known, "fields": fields}}}
	}
	if ph := commValues(acc.Phones); len(ph) > 0 {
		var l []any
		for _, v := range ph {
			l = append(l, map[string]any{"VALUE": v, "VALUE_TYPE": "WORK"})
		}
		fields["PHONE"] = l
	}
	if em := commValues(acc.Emails); len(em) > 0 {
		var l []any
		for _, v := range em {
			l = append(l, map[string]any{"VALUE": v, "VALUE_TYPE": "WORK"})
		}
		fields["EMAIL"] = l
	}
	fields["ASSIGNED_BY_ID"] = p.Responsible()
	cmds := []Cmd{{Key: "company", Method: "crm.company.add", Params: map[string]any{"fields": fields}}}
	rq := requisiteOf(acc)
	if rq == nil {
		return cmds
	}
	preset := rq.PresetID
	if preset == 0 {
		preset = crm.PresetCompany
	}
	name := rq.Name
	if name == "" {
		name = acc.Title
	}
	rf := map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": "$result[company]", "PRESET_ID": preset, "NAME": name,
		"RQ_INN": rq.INN, "RQ_KPP": rq.KPP, "RQ_OGRN": rq.OGRN, "RQ_OGRNIP": rq.OGRNIP, "RQ_OKPO": rq.OKPO,
		"RQ_COMPANY_NAME": rq.ShortName, "RQ_COMPANY_FULL_NAME": rq.FullName, "RQ_DIRECTOR": rq.Director, "RQ_ACCOUNTANT": rq.Accountant}
	for k, v := range rf {
		if v == "" {
			delete(rf, k)
		}
	}
	cmds = append(cmds, Cmd{Key: "requisite", Method: "crm.requisite.add", Params: map[string]any{"fields": rf}})
	for i, b := range rq.BankDetails {
		bn := b.Name
		if bn == "" {
			bn = b.Bank
		}
		bf := map[string]any{"ENTITY_ID": "$result[requisite]", "NAME": bn, "RQ_BANK_NAME": b.Bank, "RQ_BIK": b.BIK,
			"RQ_ACC_NUM": b.Account, "RQ_COR_ACC_NUM": b.CorrAccount, "RQ_BANK_ADDR": b.BankAddress, "RQ_ACC_CURRENCY": b.Currency}
		for k, v := range bf {
			if v == "" {
				delete(bf, k)
			}
		}
		cmds = append(cmds, Cmd{Key: "bank" + strconv.Itoa(i), Method: "crm.requisite.bankdetail.add", Params: map[string]any{"fields": bf}})
	}
	return cmds
}

// requisiteOf is the account's default requisite (the first by id), or
// one made of the account's own INN, KPP and OGRN.
func requisiteOf(acc crm.Account) *crm.Requisite {
	var best *crm.Requisite
	for i := range acc.Requisites {
		r := &acc.Requisites[i]
		if r.Inactive {
			continue
		}
		if best == nil || r.ID < best.ID {
			best = r
		}
	}
	if best == nil && (acc.INN != "" || acc.OGRN != "") {
		best = &crm.Requisite{Name: acc.Title, INN: acc.INN, KPP: acc.KPP, OGRN: acc.OGRN, ShortName: acc.Title, FullName: acc.FullName}
	}
	return best
}

func (d Deps) companyExport(ctx context.Context, c *automation.Call, in CompanyInput) (CompanyOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return CompanyOutput{}, err
	}
	acc, err := d.Store.GetAccount(ctx, in.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		return CompanyOutput{}, automation.InputErrorf("account_id", "no account %d", in.AccountID)
	} else if err != nil {
		return CompanyOutput{}, automation.Transient(err, 0)
	}
	sys := p.System()
	if id := idFromExternal(acc.ExternalIDs, sys); id != 0 {
		// Seed 002: the export is for a company the portal does not know.
		return CompanyOutput{ID: id, Outcome: OutcomeFound}, nil
	}
	cl := d.Client(p)
	a, err := cl.Batch(ctx, findCmds("co", "COMPANY", commValues(acc.Phones), commValues(acc.Emails)))
	if err != nil {
		return CompanyOutput{}, failure(ActionCompanyExport, err)
	}
	if err := batchFailure(ActionCompanyExport, a); err != nil {
		return CompanyOutput{}, err
	}
	out := CompanyOutput{}
	if id, _ := found(a, "co", "COMPANY"); id != 0 {
		out = CompanyOutput{ID: id, Outcome: OutcomeFound}
	} else {
		cmds := companyCmds(p, acc, 0)
		if c.DryRun {
			return CompanyOutput{Outcome: "dry_run"}, nil
		}
		w, err := cl.Batch(ctx, cmds)
		if err != nil {
			return CompanyOutput{}, failure(ActionCompanyExport, err)
		}
		out = CompanyOutput{ID: idOf(w.Result["company"]), RequisiteID: idOf(w.Result["requisite"]), Outcome: OutcomeCreated}
		if out.ID != 0 {
			if err := d.linkAccount(ctx, c, acc.ID, sys, out.ID); err != nil {
				return out, err
			}
		}
		if err := batchFailure(ActionCompanyExport, w); err != nil {
			return out, err
		}
		return out, nil
	}
	if c.DryRun {
		return out, nil
	}
	return out, d.linkAccount(ctx, c, acc.ID, sys, out.ID)
}

func (d Deps) linkAccount(ctx context.Context, c *automation.Call, id int64, sys string, bid int64) error {
	_, err := d.Store.UpdateAccount(ctx, c.Actor, id, func(x *crm.Account) error { setExternal(&x.Extra, sys, bid); return nil })
	if err != nil {
		return automation.Transient(fmt.Errorf("bitrix24: store the Bitrix id %d on account %d: %w", bid, id, err), 0)
	}
	return nil
}

// OriginID is a deal's ORIGIN_ID: the order it was made of.
func OriginID(order int64) string { return "sales_order:" + strconv.FormatInt(order, 10) }

// dealUpsert sends an order as a deal. What the portal already has is
// known from the external ids; what is not is looked up in one batch
// (findbycomm by the client's phones and e-mails, crm.deal.list by
// ORIGIN_ID for a deal an earlier attempt made but whose answer was
// lost); then one batch writes it all: the company with its requisite and
// bank details, the contact, the deal in the pipeline and stage of the
// mapping, its product rows. A repeat is that one batch alone. Batch
// cannot branch on an answer, hence the lookup before the write when
// something is new.
func (d Deps) dealUpsert(ctx context.Context, c *automation.Call, in DealInput) (DealOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return DealOutput{}, err
	}
	o, err := d.Store.GetSalesOrder(ctx, in.SalesOrderID)
	if errors.Is(err, store.ErrNotFound) {
		return DealOutput{}, automation.InputErrorf("sales_order_id", "no sales order %d", in.SalesOrderID)
	} else if err != nil {
		return DealOutput{}, automation.Transient(err, 0)
	}
	var contact *crm.Contact
	var account *crm.Account
	if o.ContactID != 0 {
		x, err := d.Store.GetContact(ctx, o.ContactID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return DealOutput{}, automation.Transient(err, 0)
		}
		if err == nil {
			contact = &x
		}
	}
	if o.AccountID != 0 {
		x, err := d.Store.GetAccount(ctx, o.AccountID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return DealOutput{}, automation.Transient(err, 0)
		}
		if err == nil {
			account = &x
		}
	}
	// An account of kind "person" is a private client's card: the order
	// is a person's.
	isCompany := account != nil && account.Kind != crm.AccountPerson
	switch {
	case p.Send == SendPersons && isCompany, p.Send == SendCompanies && !isCompany:
		return DealOutput{Outcome: OutcomeSkipped}, nil
	}
	sys := p.System()
	cl := d.Client(p)
	if !c.DryRun {
		// Two runs for one order, or for two orders of one new client,
		// at once would both find nothing and both create: the order
		// and the client's phones and e-mails are locked across the
		// lookup and the write.
		release, err := d.DB.LockKeys(ctx, lockKeys(p, o, contact, account)...)
		if err != nil {
			return DealOutput{}, automation.Transient(err, 0)
		}
		defer release()
		// What a run that held the lock stored is read again.
		if o, err = d.Store.GetSalesOrder(ctx, o.ID); err != nil {
			return DealOutput{}, automation.Transient(err, 0)
		}
		if contact != nil {
			if x, err := d.Store.GetContact(ctx, contact.ID); err == nil {
				contact = &x
			}
		}
		if account != nil {
			if x, err := d.Store.GetAccount(ctx, account.ID); err == nil {
				account = &x
			}
		}
	}
	dealID := idFromExternal(o.ExternalIDs, sys)
	if dealID == 0 && idFromExternal(o.ExternalIDs, p.BrokenSystem()) != 0 {
		// The portal's manager deleted the order's deal (event.apply
		// broke the link): not made again behind their back; removing
		// the broken link's external id sends the order anew.
		return DealOutput{Outcome: OutcomeLinkBroken}, nil
	}
	var contactID, companyID int64
	if contact != nil {
		contactID = idFromExternal(contact.ExternalIDs, sys)
	}
	if account != nil {
		companyID = idFromExternal(account.ExternalIDs, sys)
	}
	// What the portal already has of the order is not sent again: a
	// change Obmen made for the portal's own event (event.apply) or a
	// change of something the deal does not carry makes no
	// crm.deal.update.
	fp := d.fingerprint(p, o, contact, account)
	if dealID != 0 && !c.DryRun && !in.Force && (contact == nil || contactID != 0) && (account == nil || companyID != 0) {
		sent, err := d.sentFingerprint(ctx, sys, o.ID)
		if err != nil {
			return DealOutput{}, automation.Transient(err, 0)
		}
		if sent == fp {
			return DealOutput{ID: dealID, ContactID: contactID, CompanyID: companyID, Outcome: OutcomeUnchanged}, nil
		}
	}
	var look []Cmd
	if contact != nil && contactID == 0 {
		look = append(look, findCmds("c", "CONTACT", commValues(contact.Phones), commValues(contact.Emails))...)
	}
	if account != nil && companyID == 0 {
		look = append(look, findCmds("co", "COMPANY", commValues(account.Phones), commValues(account.Emails))...)
	}
	if dealID == 0 {
		look = append(look, Cmd{Key: "deal", Method: "crm.deal.list", Params: map[string]any{
			"filter": map[string]any{"ORIGINATOR_ID": Origin, "ORIGIN_ID": OriginID(o.ID)}, "select": []string{"ID", "ORIGINATOR_ID", "ORIGIN_ID"}}})
	}
	leadSys := p.LeadSystem()
	leadID := idFromExternal(o.ExternalIDs, leadSys)
	if p.Leads && dealID == 0 && leadID == 0 {
		look = append(look, Cmd{Key: "lead", Method: "crm.lead.list", Params: map[string]any{
			"filter": map[string]any{"ORIGINATOR_ID": Origin, "ORIGIN_ID": OriginID(o.ID)}, "select": []string{"ID", "ORIGINATOR_ID", "ORIGIN_ID"}}})
	}
	if len(look) > 0 {
		a, err := cl.Batch(ctx, look)
		if err != nil {
			return DealOutput{}, failure(ActionDealUpsert, err)
		}
		if err := batchFailure(ActionDealUpsert, a); err != nil {
			return DealOutput{}, err
		}
		if contact != nil && contactID == 0 {
			contactID, _ = found(a, "c", "CONTACT")
		}
		if account != nil && companyID == 0 {
			companyID, _ = found(a, "co", "COMPANY")
		}
		if dealID == 0 {
			dealID = originMatch(a.Result["deal"], o.ID)
		}
		if p.Leads && leadID == 0 {
			leadID = originMatch(a.Result["lead"], o.ID)
		}
	}
	// A client the portal does not know yet goes as a lead when the
	// settings say so (seed 002), and an order that went as a lead stays
	// one until a manager converts it in the portal.
	if dealID == 0 && (leadID != 0 || (p.Leads && contactID == 0 && companyID == 0)) {
		return d.leadUpsert(ctx, c, cl, p, o, contact, account, leadID)
	}
	var cmds []Cmd
	companyRef, contactRef := any(nil), any(nil)
	if account != nil {
		cmds = append(cmds, companyCmds(p, *account, companyID)...)
		companyRef = companyID
		if companyID == 0 {
			companyRef = "$result[company]"
		}
	}
	if contact != nil {
		f := contactFields(*contact)
		if companyRef != nil {
			f["COMPANY_ID"] = companyRef
		}
		if contactID != 0 {
			cmds = append(cmds, Cmd{Key: "contact", Method: "crm.contact.update", Params: map[string]any{"id": contactID, "fields": f}})
			contactRef = contactID
		} else {
			if ph := phoneField(commValues(contact.Phones)...); len(ph) > 0 {
				f["PHONE"] = ph
			}
			if em := emailField(commValues(contact.Emails)...); len(em) > 0 {
				f["EMAIL"] = em
			}
			f["ASSIGNED_BY_ID"] = p.Responsible()
			cmds = append(cmds, Cmd{Key: "contact", Method: "crm.contact.add", Params: map[string]any{"fields": f}})
			contactRef = "$result[contact]"
		}
	}
	deal := d.dealFields(p, o)
	if contactRef != nil {
		deal["CONTACT_ID"] = contactRef
	}
	if companyRef != nil {
		deal["COMPANY_ID"] = companyRef
	}
	var dealRef any = dealID
	if dealID != 0 {
		// The pipeline is chosen when the deal is made; a stage outside
		// it would be refused.
		delete(deal, "CATEGORY_ID")
		cmds = append(cmds, Cmd{Key: "deal", Method: "crm.deal.update", Params: map[string]any{"id": dealID, "fields": deal}})
	} else {
		cmds = append(cmds, Cmd{Key: "deal", Method: "crm.deal.add", Params: map[string]any{"fields": deal}})
		dealRef = "$result[deal]"
	}
	cmds = append(cmds, Cmd{Key: "rows", Method: "crm.deal.productrows.set", Params: map[string]any{"id": dealRef, "rows": productRows(o.Items)}})
	if dealID == 0 && strings.TrimSpace(o.Comments) != "" {
		// The order's comment also opens the deal's timeline (seed 002:
		// "Лента обсуждения"), once, when the deal is made.
		cmds = append(cmds, Cmd{Key: "comment", Method: "crm.timeline.comment.add", Params: map[string]any{"fields": map[string]any{
			"ENTITY_ID": dealRef, "ENTITY_TYPE": "deal", "COMMENT": o.Comments}}})
	}
	if c.DryRun {
		return DealOutput{ID: dealID, ContactID: contactID, CompanyID: companyID, Outcome: "dry_run"}, nil
	}
	w, err := cl.Batch(ctx, cmds)
	if err != nil {
		return DealOutput{}, failure(ActionDealUpsert, err)
	}
	out := DealOutput{ID: dealID, ContactID: contactID, CompanyID: companyID, Outcome: OutcomeUpdated}
	if dealID == 0 {
		out.ID, out.Outcome = idOf(w.Result["deal"]), OutcomeCreated
	}
	if contact != nil && contactID == 0 {
		out.ContactID = idOf(w.Result["contact"])
	}
	if account != nil && companyID == 0 {
		out.CompanyID = idOf(w.Result["company"])
	}
	// What the portal made is linked even when another command failed:
	// the retry then updates it instead of making a second one.
	if err := d.link(ctx, c, sys, o, contact, account, out); err != nil {
		return out, err
	}
	out.Requests = cl.Sent.Load()
	if err := batchFailure(ActionDealUpsert, w); err != nil {
		return out, err
	}
	if err := d.storeFingerprint(ctx, sys, o.ID, fp); err != nil {
		// Sent and linked: a lost fingerprint costs one more update.
		slog.WarnContext(ctx, "bitrix24: deal.upsert", "order", o.ID, "err", err)
	}
	return out, nil
}

// lockKeys are the keys deal.upsert holds: the order, and the client's
// phones and e-mails as the portal would match them.
func lockKeys(p Portal, o crm.SalesOrder, contact *crm.Contact, account *crm.Account) []string {
	keys := []string{"bitrix24:" + p.URL + ":sales_order:" + strconv.FormatInt(o.ID, 10)}
	add := func(cs crm.Comms) {
		for _, v := range append(commValues(cs.Phones), commValues(cs.Emails)...) {
			keys = append(keys, "bitrix24:"+p.URL+":comm:"+strings.ToLower(digitsOr(v)))
		}
	}
	if contact != nil {
		add(contact.Comms)
	}
	if account != nil {
		add(account.Comms)
	}
	return keys
}

// digitsOr is a phone's digits (its last ten), or the value itself.
func digitsOr(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if d := b.String(); len(d) >= 7 && !strings.Contains(v, "@") {
		if len(d) > 10 {
			d = d[len(d)-10:]
		}
		return d
	}
	return strings.TrimSpace(v)
}

// originMatch is the id of the record a list answered whose origin is
// the order's. The filter is checked on the answer too: a portal that
// ignored an unknown filter field would list every record.
func originMatch(raw json.RawMessage, order int64) int64 {
	var list []struct {
		ID         json.Number `json:"ID"`
		Originator string      `json:"ORIGINATOR_ID"`
		Origin     string      `json:"ORIGIN_ID"`
	}
	_ = json.Unmarshal(raw, &list)
	for _, x := range list {
		if x.Originator == Origin && x.Origin == OriginID(order) {
			id, _ := x.ID.Int64()
			return id
		}
	}
	return 0
}

// leadUpsert sends the order of a client new to the portal as a lead
// with its product rows: a person's as one lead, a company's as two —
// the company's own and its employee's holding the order — so that the
// portal's "convert lead" makes deal, contact and company (seed 002). A
// repeat updates the order's lead.
func (d Deps) leadUpsert(ctx context.Context, c *automation.Call, cl *Client, p Portal, o crm.SalesOrder, contact *crm.Contact, account *crm.Account, leadID int64) (DealOutput, error) {
	f := d.dealFields(p, o)
	delete(f, "CATEGORY_ID")
	delete(f, "STAGE_ID")
	if contact != nil {
		for k, v := range contactFields(*contact) {
			f[k] = v
		}
		if leadID == 0 {
			if ph := phoneField(commValues(contact.Phones)...); len(ph) > 0 {
				f["PHONE"] = ph
			}
			if em := emailField(commValues(contact.Emails)...); len(em) > 0 {
				f["EMAIL"] = em
			}
		}
	}
	var cmds []Cmd
	var ref any = leadID
	if account != nil {
		f["COMPANY_TITLE"] = account.Title
	}
	if leadID != 0 {
		cmds = append(cmds, Cmd{Key: "lead", Method: "crm.lead.update", Params: map[string]any{"id": leadID, "fields": f}})
	} else {
		if account != nil && idFromExternal(account.ExternalIDs, p.LeadSystem()) == 0 {
			cf := map[string]any{"TITLE": account.Title, "COMPANY_TITLE": account.Title, "SOURCE_ID": "WEB", "ASSIGNED_BY_ID": p.Responsible()}
			if ph := commValues(account.Phones); len(ph) > 0 {
				cf["PHONE"] = []any{map[string]any{"VALUE": ph[0], "VALUE_TYPE": "WORK"}}
			}
			if em := commValues(account.Emails); len(em) > 0 {
				cf["EMAIL"] = []any{map[string]any{"VALUE": em[0], "VALUE_TYPE": "WORK"}}
			}
			cmds = append(cmds, Cmd{Key: "company_lead", Method: "crm.lead.add", Params: map[string]any{"fields": cf}})
		}
		cmds = append(cmds, Cmd{Key: "lead", Method: "crm.lead.add", Params: map[string]any{"fields": f}})
		ref = "$result[lead]"
	}
	cmds = append(cmds, Cmd{Key: "rows", Method: "crm.lead.productrows.set", Params: map[string]any{"id": ref, "rows": productRows(o.Items)}})
	if c.DryRun {
		return DealOutput{LeadID: leadID, Outcome: "dry_run"}, nil
	}
	w, err := cl.Batch(ctx, cmds)
	if err != nil {
		return DealOutput{}, failure(ActionDealUpsert, err)
	}
	out := DealOutput{LeadID: leadID, Outcome: OutcomeLeadUpdated}
	if leadID == 0 {
		out.LeadID, out.Outcome = idOf(w.Result["lead"]), OutcomeLeadCreated
		out.CompanyLeadID = idOf(w.Result["company_lead"])
	}
	sys := p.LeadSystem()
	if out.LeadID != 0 && idFromExternal(o.ExternalIDs, sys) != out.LeadID {
		if _, err := d.Store.UpdateSalesOrder(ctx, c.Actor, o.ID, func(x *crm.SalesOrder) error { setExternal(&x.Extra, sys, out.LeadID); return nil }); err != nil {
			return out, automation.Transient(fmt.Errorf("%s: store the lead id %d on order %d: %w", ActionDealUpsert, out.LeadID, o.ID, err), 0)
		}
	}
	if account != nil && out.CompanyLeadID != 0 {
		if _, err := d.Store.UpdateAccount(ctx, c.Actor, account.ID, func(x *crm.Account) error { setExternal(&x.Extra, sys, out.CompanyLeadID); return nil }); err != nil {
			return out, automation.Transient(fmt.Errorf("%s: store the company's lead id %d on account %d: %w", ActionDealUpsert, out.CompanyLeadID, account.ID, err), 0)
		}
	}
	out.Requests = cl.Sent.Load()
	if err := batchFailure(ActionDealUpsert, w); err != nil {
		return out, err
	}
	return out, nil
}

// Find is the Obmen record of entity (sales_order, contact, account)
// linked to the portal's record bitrixID in system (Portal.System, or
// Portal.LeadSystem for leads): the seam the portal → Obmen direction
// reads an outgoing webhook's event with.
func (d Deps) Find(ctx context.Context, system, entity string, bitrixID int64) (int64, error) {
	return d.Store.FindByExternalID(ctx, entity, system, strconv.FormatInt(bitrixID, 10))
}

// link stores the portal's ids on the order, the contact and the account.
func (d Deps) link(ctx context.Context, c *automation.Call, sys string, o crm.SalesOrder, contact *crm.Contact, account *crm.Account, out DealOutput) error {
	if out.ID != 0 && idFromExternal(o.ExternalIDs, sys) != out.ID {
		if _, err := d.Store.UpdateSalesOrder(ctx, c.Actor, o.ID, func(x *crm.SalesOrder) error { setExternal(&x.Extra, sys, out.ID); return nil }); err != nil {
			return automation.Transient(fmt.Errorf("%s: store the deal id %d on order %d: %w", ActionDealUpsert, out.ID, o.ID, err), 0)
		}
	}
	if contact != nil && out.ContactID != 0 && idFromExternal(contact.ExternalIDs, sys) != out.ContactID {
		if _, err := d.Store.UpdateContact(ctx, c.Actor, contact.ID, func(x *crm.Contact) error { setExternal(&x.Extra, sys, out.ContactID); return nil }); err != nil {
			return automation.Transient(fmt.Errorf("%s: store the contact id %d on contact %d: %w", ActionDealUpsert, out.ContactID, contact.ID, err), 0)
		}
	}
	if account != nil && out.CompanyID != 0 && idFromExternal(account.ExternalIDs, sys) != out.CompanyID {
		return d.linkAccount(ctx, c, account.ID, sys, out.CompanyID)
	}
	return nil
}

// dealFields are the order's deal: title, pipeline and stage from the
// mapping, sum and currency, source, begin date, responsible, a comment
// linking back to the order, and the origin by which it is found again.
func (d Deps) dealFields(p Portal, o crm.SalesOrder) map[string]any {
	f := map[string]any{
		"TITLE": "Заказ " + o.Number, "CATEGORY_ID": p.CategoryID, "OPPORTUNITY": o.Total.String(), "CURRENCY_ID": o.Currency,
		"SOURCE_ID": "WEB", "ASSIGNED_BY_ID": p.Responsible(), "ORIGINATOR_ID": Origin, "ORIGIN_ID": OriginID(o.ID),
	}
	// The order's user when user_map names them in the portal: a
	// responsible the portal gave the deal, applied to the order, goes
	// back as it came.
	if u := p.PortalUser(o.AssignedByID); u != 0 {
		f["ASSIGNED_BY_ID"] = u
	}
	if stage, ok := p.StatusMap[o.Status]; ok {
		f["STAGE_ID"] = stage
	}
	if o.FromSite != "" {
		f["SOURCE_DESCRIPTION"] = o.FromSite
	}
	if o.OrderDate != "" {
		f["BEGINDATE"] = o.OrderDate
	}
	var comments []string
	if d.BaseURL != "" {
		comments = append(comments, fmt.Sprintf("Заказ %s: %s/sales-orders/%d", o.Number, strings.TrimRight(d.BaseURL, "/"), o.ID))
	}
	if strings.TrimSpace(o.Comments) != "" {
		comments = append(comments, o.Comments)
	}
	if len(comments) > 0 {
		f["COMMENTS"] = strings.Join(comments, "\n")
	}
	return f
}

// productRows are the order's lines as crm.deal.productrows.set takes
// them: PRICE is the final price of one unit, tax and discount included
// (the line's sum over its quantity), so the rows add up to the order's
// total.
func productRows(items []crm.LineItem) []any {
	rows := []any{}
	for _, it := range items {
		r := map[string]any{"PRODUCT_NAME": it.Name, "PRICE": rowPrice(it), "QUANTITY": it.Quantity.String()}
		if it.Unit != "" {
			r["MEASURE_NAME"] = it.Unit
		}
		if it.VATRate != nil {
			r["TAX_RATE"] = it.VATRate.String()
			r["TAX_INCLUDED"] = "Y"
		}
		rows = append(rows, r)
	}
	return rows
}

// rowPrice is a line's PRICE in productRows: the line's sum over its
// quantity, to the kopeck.
func rowPrice(it crm.LineItem) string {
	q := float64(it.Quantity) / 1000
	price := 0.0
	if q != 0 {
		price = float64(it.Sum) / 100 / q
	}
	return strconv.FormatFloat(price, 'f', 2, 64)
}
