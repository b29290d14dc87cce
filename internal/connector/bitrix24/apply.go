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

// ActionEventApply applies a portal event to Obmen (bitrix24.event's
// runs): a deal's stage becomes its order's status, a deleted deal
// breaks the order's link.
const ActionEventApply = "bitrix24.event.apply"

// Outcomes of event.apply.
const (
	ApplyUpdated    = "updated"
	ApplyUnchanged  = "unchanged"
	ApplyNotLinked  = "not_linked"
	ApplyLinkBroken = "link_broken"
	ApplyIgnored    = "ignored"
)

// ApplyInput is event.apply's input: the trigger's event and record id.
type ApplyInput struct {
	Connection int64  `json:"connection"`
	Event      string `json:"event" auto:"required"`
	ID         int64  `json:"id" auto:"required"`
}

// ApplyOutput is what event.apply did.
type ApplyOutput struct {
	Outcome      string `json:"outcome"`
	SalesOrderID int64  `json:"sales_order_id,omitempty"`
	ContactID    int64  `json:"contact_id,omitempty"`
	AccountID    int64  `json:"account_id,omitempty"`
	Stage        string `json:"stage,omitempty"`
	Status       string `json:"status,omitempty"`
	OldStatus    string `json:"old_status,omitempty"`
	Currency     string `json:"currency,omitempty"`
	AssignedByID int64  `json:"assigned_by_id,omitempty"`
	// Opportunity is the deal's sum when it differs from the order's
	// total: said on the order's timeline, not written (the total is
	// the sum of the order's lines).
	Opportunity string `json:"opportunity,omitempty"`
	// Changed names the fields written.
	Changed []string `json:"changed,omitempty"`
}

// errUnchanged ends an update that would change nothing: no write, no
// change event.
var errUnchanged = errors.New("bitrix24: unchanged")

// BrokenSystem is the external ids' system a deal deleted in the portal
// is kept under on its order: the link is broken, the id still shown.
func (p Portal) BrokenSystem() string {
	s := "bitrix24-deleted:" + strings.TrimPrefix(p.System(), "bitrix24:")
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}

// StatusOf is the order status a deal stage maps back to through
// status_map (the first status, in name order, mapped to the stage), ""
// when none is.
func (p Portal) StatusOf(stage string) string {
	for _, k := range slices.Sorted(maps.Keys(p.StatusMap)) {
		if p.StatusMap[k] == stage {
			return k
		}
	}
	return ""
}

// eventApply reads the deal back and applies it. The status is written
// only when it differs: a stage Obmen itself sent, coming back as an
// event, changes nothing and makes no change event.
func (d Deps) eventApply(ctx context.Context, c *automation.Call, in ApplyInput) (ApplyOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return ApplyOutput{}, err
	}
	ev := strings.ToUpper(strings.TrimSpace(in.Event))
	switch ev {
	case "ONCRMDEALUPDATE", "ONCRMDEALDELETE":
	case "ONCRMCONTACTUPDATE", "ONCRMCONTACTDELETE":
		return d.applyContact(ctx, c, p, ev, in.ID)
	case "ONCRMCOMPANYUPDATE", "ONCRMCOMPANYDELETE":
		return d.applyCompany(ctx, c, p, ev, in.ID)
	case "ONCRMLEADUPDATE", "ONCRMLEADDELETE":
		return d.applyLead(ctx, c, p, ev, in.ID)
	default:
		return ApplyOutput{Outcome: ApplyIgnored}, nil
	}
	orderID, err := d.Find(ctx, p.System(), store.EntitySalesOrder, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ApplyOutput{Outcome: ApplyNotLinked}, nil
	}
	if err != nil {
		return ApplyOutput{}, automation.Transient(fmt.Errorf("bitrix24: the order of deal %d: %w", in.ID, err), 0)
	}
	out := ApplyOutput{SalesOrderID: orderID}
	if ev == "ONCRMDEALDELETE" {
		return d.breakLink(ctx, c, p, in.ID, out)
	}
	a, err := d.Client(p).Call(ctx, "crm.deal.get", map[string]any{"id": in.ID})
	if err != nil {
		return out, failure("crm.deal.get", err)
	}
	var deal struct {
		Stage       string `json:"STAGE_ID"`
		Opportunity text   `json:"OPPORTUNITY"`
		Currency    string `json:"CURRENCY_ID"`
		Assigned    text   `json:"ASSIGNED_BY_ID"`
	}
	if err := json.Unmarshal(a.Result, &deal); err != nil {
		return out, automation.FailWith(fmt.Errorf("bitrix24: crm.deal.get %d: %s is not a deal", in.ID, snippet(a.Result)), nil)
	}
	out.Stage = deal.Stage
	status := p.StatusOf(deal.Stage)
	currency := strings.ToUpper(strings.TrimSpace(deal.Currency))
	portalUser, _ := strconv.ParseInt(string(deal.Assigned), 10, 64)
	// The responsible as the portal has it is an Obmen user only when
	// mapped or matched by e-mail; the connection's default responsible
	// (what Obmen sends for an order whose user is not mapped) says
	// nothing of who the order is for.
	var assigned int64
	if portalUser != 0 && (portalUser != p.Responsible() || p.UserMap[portalUser] != 0) {
		if assigned, err = d.obmenUser(ctx, p, portalUser); err != nil {
			return out, err
		}
	}
	cur, err := d.Store.GetSalesOrder(ctx, orderID)
	if err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: %w", orderID, err), 0)
	}
	// A sum other than the order's: a manager changed the deal's rows
	// (or typed a sum). The rows as the portal has them become the
	// order's lines; a sum the rows do not make is said on the timeline.
	var items []crm.LineItem
	sum, sumErr := crm.ParseAmount(string(deal.Opportunity))
	hasSum := sumErr == nil && deal.Opportunity != ""
	if hasSum && sum != cur.Total {
		if items, err = d.dealRows(ctx, p, in.ID, cur.Items); err != nil {
			return out, err
		}
	}
	if c.DryRun {
		out.Outcome, out.Status, out.Currency, out.AssignedByID = "dry_run", status, currency, assigned
		return out, nil
	}
	mutate := func(x *crm.SalesOrder) []string {
		var changed []string
		if items != nil {
			if next, differ := rowsOver(x.Items, items); differ {
				x.Items, changed = next, append(changed, "items")
			}
		}
		if status != "" && x.Status != status {
			x.Status, changed = status, append(changed, "status")
		}
		if currency != "" && x.Currency != currency {
			x.Currency, changed = currency, append(changed, "currency")
		}
		if assigned != 0 && x.AssignedByID != assigned {
			x.AssignedByID, changed = assigned, append(changed, "assigned_by_id")
		}
		return changed
	}
	// The portal's state, once in the order, is what the portal has: if
	// it had the order as it stands (the fingerprint), it now has the
	// order so changed, so the change event of the write below makes no
	// crm.deal.update when a bundle sends the order again.
	if err := d.keepInSync(ctx, p, cur, mutate); err != nil {
		return out, automation.Transient(err, 0)
	}
	var changed []string
	var unchanged crm.SalesOrder
	o, err := d.Store.UpdateSalesOrder(ctx, c.Actor, orderID, func(x *crm.SalesOrder) error {
		out.OldStatus = x.Status
		if changed = mutate(x); len(changed) == 0 {
			unchanged = *x
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		o, err, changed = unchanged, nil, nil
	}
	if err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: %w", orderID, err), 0)
	}
	if status != "" {
		out.Status = o.Status
	}
	out.Outcome, out.Changed = ApplyUnchanged, changed
	if len(changed) > 0 {
		out.Outcome, out.Currency, out.AssignedByID = ApplyUpdated, o.Currency, o.AssignedByID
	}
	if hasSum && sum != o.Total {
		out.Opportunity = sum.String()
		if err := d.noteSum(ctx, c, o, sum); err != nil {
			return out, err
		}
	}
	return out, nil
}

// text is a field the portal answers as a string or a number (null: "",
// as json.Unmarshal leaves a string it is given null for).
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = text(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*t = text(n.String())
		return nil
	}
	return fmt.Errorf("not a string or a number: %s", snippet(b))
}

// dealRows reads the deal's product rows (crm.deal.productrows.get) and
// gives them as order lines: a row whose name, unit price and quantity
// are what Obmen sent for one of items keeps that line as it is; another
// row is a line priced as the portal has it (PRICE is the final unit
// price, tax included), keeping the product, service or variant of the
// line of the same name. A deal with no rows gives nil: the order's lines
// stay.
func (d Deps) dealRows(ctx context.Context, p Portal, dealID int64, items []crm.LineItem) ([]crm.LineItem, error) {
	a, err := d.Client(p).Call(ctx, "crm.deal.productrows.get", map[string]any{"id": dealID})
	if err != nil {
		return nil, failure("crm.deal.productrows.get", err)
	}
	var rows []struct {
		Name        string `json:"PRODUCT_NAME"`
		Price       text   `json:"PRICE"`
		Quantity    text   `json:"QUANTITY"`
		Measure     string `json:"MEASURE_NAME"`
		TaxRate     text   `json:"TAX_RATE"`
		TaxIncluded string `json:"TAX_INCLUDED"`
	}
	if err := json.Unmarshal(a.Result, &rows); err != nil {
		return nil, automation.FailWith(fmt.Errorf("bitrix24: crm.deal.productrows.get %d: %s is not a list of rows", dealID, snippet(a.Result)), nil)
	}
	if len(rows) == 0 {
		// A deal with no rows has a sum typed by hand: the order keeps its
		// lines (noteSum tells).
		return nil, nil
	}
	used := make([]bool, len(items))
	out := make([]crm.LineItem, 0, len(rows))
	for i, r := range rows {
		price, err := crm.ParseAmount(string(r.Price))
		if err != nil {
			return nil, automation.FailWith(fmt.Errorf("bitrix24: deal %d row %d: PRICE %q: %w", dealID, i+1, r.Price, err), nil)
		}
		qty, err := crm.ParseQuantity(string(r.Quantity))
		if err != nil {
			return nil, automation.FailWith(fmt.Errorf("bitrix24: deal %d row %d: QUANTITY %q: %w", dealID, i+1, r.Quantity, err), nil)
		}
		name := strings.TrimSpace(r.Name)
		match := -1
		for j, it := range items {
			if !used[j] && strings.EqualFold(strings.TrimSpace(it.Name), name) {
				match = j
				break
			}
		}
		if match >= 0 {
			used[match] = true
			if it := items[match]; it.Quantity == qty && unitPrice(it) == price {
				out = append(out, it)
				continue
			}
		}
		var li crm.LineItem
		if match >= 0 {
			m := items[match]
			li = crm.LineItem{ProductID: m.ProductID, ServiceID: m.ServiceID, VariantID: m.VariantID, Unit: m.Unit, Properties: m.Properties}
		}
		li.Name, li.Price, li.Quantity = name, price, qty
		if u := strings.TrimSpace(r.Measure); u != "" {
			li.Unit = u
		}
		if r.TaxRate != "" {
			rate, err := crm.ParseAmount(string(r.TaxRate))
			if err != nil {
				return nil, automation.FailWith(fmt.Errorf("bitrix24: deal %d row %d: TAX_RATE %q: %w", dealID, i+1, r.TaxRate, err), nil)
			}
			// PRICE has the tax in it, whatever TAX_INCLUDED says.
			li.VATRate, li.VATIncluded = &rate, true
		}
		if err := li.Compute(); err != nil {
			return nil, automation.FailWith(fmt.Errorf("bitrix24: deal %d row %d: %w", dealID, i+1, err), nil)
		}
		out = append(out, li)
	}
	return out, nil
}

// unitPrice is a line's final price of one unit as productRows sends it.
func unitPrice(it crm.LineItem) crm.Amount {
	a, _ := crm.ParseAmount(rowPrice(it))
	return a
}

// rowsOver gives the lines rows would make of an order that has items
// now, and whether they differ: the same lines (the portal's rows made of
// them) change nothing.
func rowsOver(items, rows []crm.LineItem) ([]crm.LineItem, bool) {
	if len(items) != len(rows) {
		return rows, true
	}
	for i := range rows {
		if rows[i].ID != items[i].ID || rows[i].Name != items[i].Name || rows[i].Quantity != items[i].Quantity || unitPrice(rows[i]) != unitPrice(items[i]) {
			return rows, true
		}
	}
	return items, false
}

// noteSum says on the order's timeline that the portal's deal has
// another sum than its rows make, once per sum: the order's total is the
// sum of its lines, which a number alone cannot rewrite.
func (d Deps) noteSum(ctx context.Context, c *automation.Call, o crm.SalesOrder, sum crm.Amount) error {
	body := fmt.Sprintf("В Битрикс24 сумма сделки %s %s, в заказе %s %s: проверьте строки заказа.", sum.String(), o.Currency, o.Total.String(), o.Currency)
	cs, err := d.Store.ListComments(ctx, store.EntitySalesOrder, o.ID)
	if err != nil {
		return automation.Transient(fmt.Errorf("bitrix24: order %d: comments: %w", o.ID, err), 0)
	}
	for _, x := range cs {
		if x.Body == body {
			return nil
		}
	}
	if _, err := d.Store.AddComment(ctx, c.Actor, store.EntitySalesOrder, o.ID, body); err != nil {
		return automation.Transient(fmt.Errorf("bitrix24: order %d: note the deal's sum: %w", o.ID, err), 0)
	}
	return nil
}

// breakLink moves the deleted deal's id to BrokenSystem on the order and
// says so on the order's timeline; the order stays.
func (d Deps) breakLink(ctx context.Context, c *automation.Call, p Portal, dealID int64, out ApplyOutput) (ApplyOutput, error) {
	if c.DryRun {
		out.Outcome = "dry_run"
		return out, nil
	}
	_, err := d.Store.UpdateSalesOrder(ctx, c.Actor, out.SalesOrderID, func(x *crm.SalesOrder) error {
		delete(x.ExternalIDs, p.System())
		setExternal(&x.Extra, p.BrokenSystem(), dealID)
		return nil
	})
	if err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: break the link: %w", out.SalesOrderID, err), 0)
	}
	body := "Сделка " + strconv.FormatInt(dealID, 10) + " удалена в Битрикс24 (" + strings.TrimPrefix(p.System(), "bitrix24:") +
		"): связь заказа со сделкой разорвана, заказ в Obmen не удалён."
	if _, err := d.Store.AddComment(ctx, c.Actor, store.EntitySalesOrder, out.SalesOrderID, body); err != nil {
		return out, automation.Transient(fmt.Errorf("bitrix24: order %d: comment the broken link: %w", out.SalesOrderID, err), 0)
	}
	out.Outcome = ApplyLinkBroken
	return out, nil
}

// keepInSync stores the fingerprint of order o as mutate leaves it when
// the stored one is o's as it stands.
func (d Deps) keepInSync(ctx context.Context, p Portal, o crm.SalesOrder, mutate func(*crm.SalesOrder) []string) error {
	orderID := o.ID
	after := o
	if len(mutate(&after)) == 0 {
		return nil
	}
	// The totals as the store will compute them from the lines.
	if t, err := crm.ComputeItems("items", after.Items); err == nil {
		after.Totals = t
	}
	var contact *crm.Contact
	var account *crm.Account
	if o.ContactID != 0 {
		if x, err := d.Store.GetContact(ctx, o.ContactID); err == nil {
			contact = &x
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("bitrix24: order %d: contact: %w", orderID, err)
		}
	}
	if o.AccountID != 0 {
		if x, err := d.Store.GetAccount(ctx, o.AccountID); err == nil {
			account = &x
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("bitrix24: order %d: account: %w", orderID, err)
		}
	}
	sys := p.System()
	sent, err := d.sentFingerprint(ctx, sys, orderID)
	if err != nil || sent != d.fingerprint(p, o, contact, account) {
		return err
	}
	return d.storeFingerprint(ctx, sys, orderID, d.fingerprint(p, after, contact, account))
}
