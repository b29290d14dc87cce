package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// portalRecord is a contact or company as crm.*.get answers it: the
// fields event.apply takes, numbers and strings alike read as text.
type portalRecord struct {
	Name       string     `json:"NAME"`
	SecondName string     `json:"SECOND_NAME"`
	LastName   string     `json:"LAST_NAME"`
	Title      string     `json:"TITLE"`
	Phones     []portalMF `json:"PHONE"`
	Emails     []portalMF `json:"EMAIL"`
}

// portalMF is one value of a multi-field (PHONE, EMAIL).
type portalMF struct {
	Value     string `json:"VALUE"`
	ValueType string `json:"VALUE_TYPE"`
}

// comms turns the portal's multi-field into Obmen's, keeping the type an
// Obmen value of the same number or address already had.
func comms(portal []portalMF, had []crm.Comm, key func(string) string) []crm.Comm {
	kind := map[string]string{}
	for _, c := range had {
		kind[key(c.Value)] = c.ValueType
	}
	out := []crm.Comm{}
	seen := map[string]bool{}
	for _, m := range portal {
		v := strings.TrimSpace(m.Value)
		k := key(v)
		if v == "" || seen[k] {
			continue
		}
		seen[k] = true
		vt := kind[k]
		if vt == "" {
			vt = strings.ToUpper(strings.TrimSpace(m.ValueType))
		}
		if vt == "" {
			vt = "WORK"
		}
		out = append(out, crm.Comm{Value: v, ValueType: vt})
	}
	return out
}

// sameComms says two lists hold the same numbers or addresses, whatever
// their order, form or types.
func sameComms(a, b []crm.Comm, key func(string) string) bool {
	set := func(cs []crm.Comm) []string {
		var out []string
		for _, c := range cs {
			out = append(out, key(c.Value))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(set(a), set(b))
}

func emailKey(v string) string { return strings.ToLower(strings.TrimSpace(v)) }

// linked is the Obmen record of entity linked to the portal's record bid,
// 0 when none is.
func (d Deps) linked(ctx context.Context, p Portal, entity string, bid int64) (int64, error) {
	id, err := d.Find(ctx, p.System(), entity, bid)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, automation.Transient(fmt.Errorf("bitrix24: the %s of portal record %d: %w", entity, bid, err), 0)
	}
	return id, nil
}

// notLinked is the outcome for a portal record linked to none of Obmen's,
// or the error of looking.
func notLinked(err error) (ApplyOutput, error) {
	if err != nil {
		return ApplyOutput{}, err
	}
	return ApplyOutput{Outcome: ApplyNotLinked}, nil
}

// takeComms sets the phones and e-mails of x to the portal's where they
// differ (in numbers or addresses, not form), naming them in changed.
func (r portalRecord) takeComms(x *crm.Comms, changed []string) []string {
	if ph := comms(r.Phones, x.Phones, crm.PhoneKey); !sameComms(ph, x.Phones, crm.PhoneKey) {
		x.Phones, changed = ph, append(changed, "phones")
	}
	if em := comms(r.Emails, x.Emails, emailKey); !sameComms(em, x.Emails, emailKey) {
		x.Emails, changed = em, append(changed, "emails")
	}
	return changed
}

// readRecord reads the portal's record with method.
func (d Deps) readRecord(ctx context.Context, p Portal, method string, id int64) (portalRecord, error) {
	a, err := d.Client(p).Call(ctx, method, map[string]any{"id": id})
	if err != nil {
		return portalRecord{}, failure(method, err)
	}
	var r portalRecord
	if err := json.Unmarshal(a.Result, &r); err != nil {
		return r, automation.FailWith(fmt.Errorf("bitrix24: %s %d: %s is not a record", method, id, snippet(a.Result)), nil)
	}
	return r, nil
}

// applyContact writes the portal's contact into its linked Obmen contact:
// name, phones, e-mails. Nothing is written when Obmen has them already
// (the portal's echo of a change Obmen sent).
func (d Deps) applyContact(ctx context.Context, c *automation.Call, p Portal, ev string, bid int64) (ApplyOutput, error) {
	cid, err := d.linked(ctx, p, store.EntityContact, bid)
	if cid == 0 || err != nil {
		return notLinked(err)
	}
	out := ApplyOutput{ContactID: cid}
	if ev == "ONCRMCONTACTDELETE" {
		return d.breakRecord(ctx, c, p, store.EntityContact, cid, bid, out)
	}
	r, err := d.readRecord(ctx, p, "crm.contact.get", bid)
	if err != nil {
		return out, err
	}
	if c.DryRun {
		out.Outcome = "dry_run"
		return out, nil
	}
	var changed []string
	_, err = d.Store.UpdateContact(ctx, c.Actor, cid, func(x *crm.Contact) error {
		changed = nil
		set := func(field string, dst *string, v string) {
			if v = strings.TrimSpace(v); v != "" && v != *dst {
				*dst = v
				changed = append(changed, field)
			}
		}
		set("name", &x.Name, r.Name)
		set("second_name", &x.SecondName, r.SecondName)
		set("last_name", &x.LastName, r.LastName)
		changed = r.takeComms(&x.Comms, changed)
		if len(changed) == 0 {
			return errUnchanged
		}
		return nil
	})
	return applied(out, changed, err, "contact", cid)
}

// applyCompany writes the portal's company into its linked Obmen account:
// name, phones, e-mails, and the INN of its requisite.
func (d Deps) applyCompany(ctx context.Context, c *automation.Call, p Portal, ev string, bid int64) (ApplyOutput, error) {
	aid, err := d.linked(ctx, p, store.EntityAccount, bid)
	if aid == 0 || err != nil {
		return notLinked(err)
	}
	out := ApplyOutput{AccountID: aid}
	if ev == "ONCRMCOMPANYDELETE" {
		return d.breakRecord(ctx, c, p, store.EntityAccount, aid, bid, out)
	}
	r, err := d.readRecord(ctx, p, "crm.company.get", bid)
	if err != nil {
		return out, err
	}
	inn, err := d.companyINN(ctx, p, bid)
	if err != nil {
		return out, err
	}
	if c.DryRun {
		out.Outcome = "dry_run"
		return out, nil
	}
	var changed []string
	_, err = d.Store.UpdateAccount(ctx, c.Actor, aid, func(x *crm.Account) error {
		changed = nil
		if v := strings.TrimSpace(r.Title); v != "" && v != x.Title {
			x.Title, changed = v, append(changed, "title")
		}
		if inn != "" && inn != x.INN {
			x.INN, changed = inn, append(changed, "inn")
		}
		changed = r.takeComms(&x.Comms, changed)
		if len(changed) == 0 {
			return errUnchanged
		}
		return nil
	})
	return applied(out, changed, err, "account", aid)
}

// companyINN is the INN of the company's first requisite (crm.requisite.list
// by ENTITY_TYPE_ID 4), "" when it has none.
func (d Deps) companyINN(ctx context.Context, p Portal, bid int64) (string, error) {
	a, err := d.Client(p).Call(ctx, "crm.requisite.list", map[string]any{
		"filter": map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": bid}, "select": []string{"ID", "RQ_INN"}, "order": map[string]any{"ID": "ASC"}})
	if err != nil {
		return "", failure("crm.requisite.list", err)
	}
	var rqs []struct {
		INN string `json:"RQ_INN"`
	}
	if err := json.Unmarshal(a.Result, &rqs); err != nil {
		return "", automation.FailWith(fmt.Errorf("bitrix24: crm.requisite.list of company %d: %s is not a list", bid, snippet(a.Result)), nil)
	}
	for _, r := range rqs {
		if v := strings.TrimSpace(r.INN); v != "" {
			return v, nil
		}
	}
	return "", nil
}

// applied is the outcome of an update that may have changed nothing.
func applied(out ApplyOutput, changed []string, err error, what string, id int64) (ApplyOutput, error) {
	if errors.Is(err, errUnchanged) {
		out.Outcome = ApplyUnchanged
		return out, nil
	}
	if err != nil {
		var fe *crm.FieldError
		if errors.As(err, &fe) {
			return out, automation.FailWith(fmt.Errorf("bitrix24: the portal's %s does not fit %s %d: %w", what, what, id, err), nil)
		}
		return out, automation.Transient(fmt.Errorf("bitrix24: %s %d: %w", what, id, err), 0)
	}
	out.Outcome, out.Changed = ApplyUpdated, changed
	return out, nil
}

// breakRecord moves a deleted contact's or company's id to BrokenSystem
// on its Obmen record and says so on its timeline; the record stays.
func (d Deps) breakRecord(ctx context.Context, c *automation.Call, p Portal, entity string, id, bid int64, out ApplyOutput) (ApplyOutput, error) {
	if c.DryRun {
		out.Outcome = "dry_run"
		return out, nil
	}
	move := func(x *crm.Extra) error {
		if x.ExternalIDs[p.System()] != strconv.FormatInt(bid, 10) {
			return errUnchanged
		}
		delete(x.ExternalIDs, p.System())
		setExternal(x, p.BrokenSystem(), bid)
		return nil
	}
	var err error
	var deleted string // the comment's head, the record in the portal
	switch entity {
	case store.EntityContact:
		_, err = d.Store.UpdateContact(ctx, c.Actor, id, func(x *crm.Contact) error { return move(&x.Extra) })
		deleted = "Контакт %d удалён"
	case store.EntityAccount:
		_, err = d.Store.UpdateAccount(ctx, c.Actor, id, func(x *crm.Account) error { return move(&x.Extra) })
		deleted = "Компания %d удалена"
	}
	if errors.Is(err, errUnchanged) {
		out.Outcome = ApplyUnchanged
		return out, nil
	}
	if err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: %s %d: break the link: %w", entity, id, err), 0)
	}
	body := fmt.Sprintf(deleted, bid) + " в Битрикс24 (" + strings.TrimPrefix(p.System(), "bitrix24:") +
		"): связь разорвана, запись в Obmen не удалена."
	if _, err := d.Store.AddComment(ctx, c.Actor, entity, id, body); err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: %s %d: comment the broken link: %w", entity, id, err), 0)
	}
	out.Outcome = ApplyLinkBroken
	return out, nil
}

// userMap reads the setting user_map: a JSON object of the portal's user
// id → Obmen's user id.
func userMap(s string) (map[int64]int64, error) {
	out := map[int64]int64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return out, fmt.Errorf("not a JSON object of portal user id → Obmen user id, such as {\"1\": 3}: %v", err)
	}
	for k, v := range m {
		pid, err := strconv.ParseInt(strings.TrimSpace(k), 10, 64)
		if err != nil || pid <= 0 {
			return out, fmt.Errorf("%q: a portal user id is a positive number", k)
		}
		f, ok := v.(float64)
		if !ok || f <= 0 || f != float64(int64(f)) {
			return out, fmt.Errorf("portal user %d: the Obmen user id must be a positive number", pid)
		}
		out[pid] = int64(f)
	}
	return out, nil
}

// PortalUser is the portal's user an Obmen user is (user_map read
// backwards), 0 when none is mapped; of several, the smallest id.
func (p Portal) PortalUser(obmen int64) int64 {
	for _, k := range slices.Sorted(maps.Keys(p.UserMap)) {
		if p.UserMap[k] == obmen {
			return k
		}
	}
	return 0
}

// obmenUser is the Obmen user the portal's user is: user_map, else the
// active Obmen user with the portal user's e-mail (user.get); 0 when
// neither finds one.
func (d Deps) obmenUser(ctx context.Context, p Portal, portal int64) (int64, error) {
	if portal <= 0 {
		return 0, nil
	}
	if u, ok := p.UserMap[portal]; ok {
		return u, nil
	}
	a, err := d.Client(p).Call(ctx, "user.get", map[string]any{"ID": portal})
	if err != nil {
		return 0, failure("user.get", err)
	}
	var us []struct {
		Email string `json:"EMAIL"`
	}
	if err := json.Unmarshal(a.Result, &us); err != nil || len(us) == 0 || strings.TrimSpace(us[0].Email) == "" {
		return 0, nil
	}
	users, err := d.Store.ListUsers(ctx)
	if err != nil {
		return 0, automation.Transient(fmt.Errorf("bitrix24: Obmen's users: %w", err), 0)
	}
	for _, u := range users {
		if u.Active && emailKey(u.Email) == emailKey(us[0].Email) {
			return u.ID, nil
		}
	}
	return 0, nil
}

// Outcome of a lead converted in the portal: its deal now stands for the
// order.
const ApplyLinked = "linked"

// applyLead follows an order that went to the portal as a lead: once a
// manager converts the lead, the deal made of it (crm.deal.list by
// LEAD_ID) becomes the order's deal, so that the next send updates it; a
// deleted lead breaks the order's link (kept as BrokenSystem unless the
// order has its deal already), with a timeline comment.
func (d Deps) applyLead(ctx context.Context, c *automation.Call, p Portal, ev string, bid int64) (ApplyOutput, error) {
	orderID, err := d.Find(ctx, p.LeadSystem(), store.EntitySalesOrder, bid)
	if errors.Is(err, store.ErrNotFound) {
		return ApplyOutput{Outcome: ApplyNotLinked}, nil
	}
	if err != nil {
		return ApplyOutput{}, automation.Transient(fmt.Errorf("bitrix24: the order of lead %d: %w", bid, err), 0)
	}
	out := ApplyOutput{SalesOrderID: orderID}
	o, err := d.Store.GetSalesOrder(ctx, orderID)
	if err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: %w", orderID, err), 0)
	}
	hasDeal := idFromExternal(o.ExternalIDs, p.System()) != 0
	if c.DryRun {
		out.Outcome = "dry_run"
		return out, nil
	}
	var body string
	var mutate func(x *crm.SalesOrder) error
	switch {
	case ev == "ONCRMLEADDELETE":
		out.Outcome = ApplyLinkBroken
		body = "Лид " + strconv.FormatInt(bid, 10) + " удалён в Битрикс24 (" + strings.TrimPrefix(p.System(), "bitrix24:") + "): связь заказа с лидом разорвана, заказ в Obmen не удалён."
		mutate = func(x *crm.SalesOrder) error {
			delete(x.ExternalIDs, p.LeadSystem())
			if !hasDeal {
				setExternal(&x.Extra, p.BrokenSystem(), bid)
			}
			return nil
		}
	case hasDeal:
		out.Outcome = ApplyUnchanged
		return out, nil
	default:
		a, err := d.Client(p).Call(ctx, "crm.deal.list", map[string]any{"filter": map[string]any{"LEAD_ID": bid}, "select": []string{"ID"}, "order": map[string]any{"ID": "ASC"}})
		if err != nil {
			return out, failure("crm.deal.list", err)
		}
		var deals []struct {
			ID text `json:"ID"`
		}
		if err := json.Unmarshal(a.Result, &deals); err != nil {
			return out, automation.FailWith(fmt.Errorf("bitrix24: crm.deal.list by lead %d: %s is not a list", bid, snippet(a.Result)), nil)
		}
		var deal int64
		if len(deals) > 0 {
			deal, _ = strconv.ParseInt(string(deals[0].ID), 10, 64)
		}
		if deal == 0 {
			out.Outcome = ApplyUnchanged
			return out, nil
		}
		out.Outcome = ApplyLinked
		body = fmt.Sprintf("Лид %d сконвертирован в Битрикс24 в сделку %d: заказ связан со сделкой.", bid, deal)
		mutate = func(x *crm.SalesOrder) error {
			setExternal(&x.Extra, p.System(), deal)
			return nil
		}
	}
	if _, err := d.Store.UpdateSalesOrder(ctx, c.Actor, orderID, mutate); err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: the lead's link: %w", orderID, err), 0)
	}
	if _, err := d.Store.AddComment(ctx, c.Actor, store.EntitySalesOrder, orderID, body); err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: comment the lead: %w", orderID, err), 0)
	}
	return out, nil
}
