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
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Action names.
const (
	ActionContactUpsert = "bitrix24.contact.upsert"
	ActionLeadCreate    = "bitrix24.lead.create"
	ActionTimelineAdd   = "bitrix24.timeline.add"
	ActionCompanyExport = "bitrix24.company.export"
	ActionDealUpsert    = "bitrix24.deal.upsert"
)

// Outcomes.
const (
	OutcomeCreated = "created"
	OutcomeUpdated = "updated"
	OutcomeFound   = "found"
	OutcomeSkipped = "skipped"
	// The portal already has what would be sent (deal.upsert's
	// fingerprint): nothing was.
	OutcomeUnchanged = "unchanged"
	// The order's deal was deleted in the portal: not sent.
	OutcomeLinkBroken = "link_broken"
	// The order went as a lead (a client new to the portal).
	OutcomeLeadCreated = "lead_created"
	OutcomeLeadUpdated = "lead_updated"
)

// Origin is the deals' ORIGINATOR_ID: the system an ORIGIN_ID belongs
// to (crm.deal.add), by which a deal whose answer was lost is found.
const Origin = "obmen"

// ContactInput is bitrix24.contact.upsert's input: an Obmen contact (its
// Bitrix id is stored on it), or the fields alone.
type ContactInput struct {
	Connection int64  `json:"connection"`
	ContactID  int64  `json:"contact_id"`
	Name       string `json:"name"`
	LastName   string `json:"last_name"`
	Phone      string `json:"phone"`
	Email      string `json:"email"`
}

// ContactOutput is the portal's contact.
type ContactOutput struct {
	ID        int64  `json:"id"`
	Outcome   string `json:"outcome"`
	MatchedBy string `json:"matched_by"`
}

// LeadInput is bitrix24.lead.create's input.
type LeadInput struct {
	Connection   int64  `json:"connection"`
	Title        string `json:"title" auto:"required"`
	Name         string `json:"name"`
	LastName     string `json:"last_name"`
	CompanyTitle string `json:"company_title"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	Opportunity  string `json:"opportunity"`
	Currency     string `json:"currency"`
	Comments     string `json:"comments"`
}

// IDOutput is a record the portal made.
type IDOutput struct {
	ID int64 `json:"id"`
}

// TimelineInput is bitrix24.timeline.add's input.
type TimelineInput struct {
	Connection int64  `json:"connection"`
	EntityType string `json:"entity_type" auto:"required,enum=deal|lead|contact|company"`
	EntityID   int64  `json:"entity_id" auto:"required"`
	Comment    string `json:"comment" auto:"required"`
}

// CompanyInput is bitrix24.company.export's input.
type CompanyInput struct {
	Connection int64 `json:"connection"`
	AccountID  int64 `json:"account_id" auto:"required"`
}

// CompanyOutput is the exported company.
type CompanyOutput struct {
	ID          int64  `json:"id"`
	RequisiteID int64  `json:"requisite_id"`
	Outcome     string `json:"outcome"`
}

// DealInput is bitrix24.deal.upsert's input: the order; the rest comes
// from it and the connection's settings.
type DealInput struct {
	Connection   int64 `json:"connection"`
	SalesOrderID int64 `json:"sales_order_id" auto:"required"`
	// Force sends the order even when the portal has what would be
	// sent (the fingerprint of the last send): a manager's edit in the
	// portal is then overwritten.
	Force bool `json:"force"`
}

// DealOutput is what deal.upsert did.
type DealOutput struct {
	ID        int64 `json:"id"`
	ContactID int64 `json:"contact_id"`
	CompanyID int64 `json:"company_id"`
	// LeadID is the order's lead, CompanyLeadID the company's own lead,
	// when the order went as leads.
	LeadID        int64  `json:"lead_id"`
	CompanyLeadID int64  `json:"company_lead_id"`
	Outcome       string `json:"outcome"`
	Requests      int64  `json:"requests"`
}

// Actions are the connector's actions.
func Actions(d Deps) []automation.Action {
	spec := func(name string) automation.Spec {
		return automation.Spec{Name: name, Group: Group, Writes: true, Connection: Type}
	}
	exports := func(s automation.Spec, entity string) automation.Spec {
		s.Exports = entity
		return s
	}
	return []automation.Action{
		automation.Define(spec(ActionContactUpsert), d.contactUpsert),
		automation.Define(spec(ActionLeadCreate), d.leadCreate),
		automation.Define(spec(ActionTimelineAdd), d.timelineAdd),
		automation.Define(exports(spec(ActionCompanyExport), store.EntityAccount), d.companyExport),
		automation.Define(spec(ActionDealUpsert), d.dealUpsert),
		automation.Define(spec(ActionEventApply), d.eventApply),
	}
}

// portal opens the step's connection (the step's, or the input's in a
// direct call).
func (d Deps) portal(ctx context.Context, c *automation.Call, given int64) (Portal, error) {
	id := given
	if c != nil && c.Connection != 0 {
		if given != 0 && given != c.Connection {
			return Portal{}, automation.InputErrorf("connection", "the step names connection %d, the input %d", c.Connection, given)
		}
		id = c.Connection
	}
	if id == 0 {
		return Portal{}, automation.InputErrorf("connection", "required: the Bitrix24 connection (Integrations → Connections)")
	}
	conn, set, err := d.Conns.Open(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Portal{}, automation.InputErrorf("connection", "no connection %d", id)
	}
	if err != nil {
		return Portal{}, automation.Transient(err, 0)
	}
	if conn.Type != Type {
		return Portal{}, automation.InputErrorf("connection", "connection %q is a %s connection, not bitrix24", conn.Name, conn.Type)
	}
	p := PortalOf(set)
	p.ConnID, p.Broken = conn.ID, conn.Broken != nil
	return p, nil
}

// failure turns a client error into the step's: a refusal fails the step
// with the portal's words as its output, a limit or an outage is worth
// another attempt later.
func failure(op string, err error) error {
	var ie *automation.InputError
	if errors.As(err, &ie) {
		return err
	}
	var be *Error
	if errors.As(err, &be) && !be.Temporary() {
		return automation.FailWith(fmt.Errorf("%s: %w", op, err), map[string]any{"error": be.Code, "error_description": be.Description})
	}
	if errors.As(err, &be) && !be.RetryAt.IsZero() {
		return automation.Transient(fmt.Errorf("%s: %w", op, err), be.RetryAt.Sub(timeNow()))
	}
	return automation.Transient(fmt.Errorf("%s: %w", op, err), 0)
}

// batchFailure is the first command error of a batch, as a step's
// failure naming every failed command.
func batchFailure(op string, a *BatchAnswer) error {
	if len(a.Errors) == 0 {
		return nil
	}
	out := map[string]any{}
	var parts []string
	temporary := false
	for _, k := range slices.Sorted(maps.Keys(a.Errors)) {
		e := a.Errors[k]
		out[k] = map[string]any{"method": e.Method, "error": e.Code, "error_description": e.Description}
		parts = append(parts, fmt.Sprintf("%s (%s): %s", k, e.Method, strings.TrimSpace(e.Code+" "+e.Description)))
		temporary = temporary || e.Temporary()
	}
	err := fmt.Errorf("%s: bitrix24: batch: %s", op, strings.Join(parts, "; "))
	if temporary {
		return automation.Transient(err, 0)
	}
	return automation.FailWith(err, map[string]any{"result_error": out})
}

func phoneField(values ...string) []any {
	var out []any
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, map[string]any{"VALUE": v, "VALUE_TYPE": "MOBILE"})
		}
	}
	return out
}

func emailField(values ...string) []any {
	var out []any
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, map[string]any{"VALUE": v, "VALUE_TYPE": "HOME"})
		}
	}
	return out
}

func commValues(cs []crm.Comm) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		if v := strings.TrimSpace(c.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// findCmds are the crm.duplicate.findbycomm commands for an entity
// (CONTACT, COMPANY) by its phones and e-mails, keyed prefix+"_phone",
// prefix+"_email" (20 values a call, the method's limit).
func findCmds(prefix, entity string, phones, emails []string) []Cmd {
	var out []Cmd
	if len(phones) > 0 {
		out = append(out, Cmd{Key: prefix + "_phone", Method: "crm.duplicate.findbycomm", Params: map[string]any{"entity_type": entity, "type": "PHONE", "values": first(phones, 20)}})
	}
	if len(emails) > 0 {
		out = append(out, Cmd{Key: prefix + "_email", Method: "crm.duplicate.findbycomm", Params: map[string]any{"entity_type": entity, "type": "EMAIL", "values": first(emails, 20)}})
	}
	return out
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// found reads findbycomm's answers for entity: the lowest id, by which
// (phone before e-mail). The answer is {"CONTACT": [ids]} or [] for none.
func found(a *BatchAnswer, prefix, entity string) (int64, string) {
	for _, by := range []string{"phone", "email"} {
		raw, ok := a.Result[prefix+"_"+by]
		if !ok {
			continue
		}
		var m map[string][]json.Number
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		var best int64
		for _, n := range m[entity] {
			if id, err := n.Int64(); err == nil && id > 0 && (best == 0 || id < best) {
				best = id
			}
		}
		if best > 0 {
			return best, by
		}
	}
	return 0, ""
}

// idOf reads an add's result: the new id (a number or a string).
func idOf(raw json.RawMessage) int64 {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (d Deps) contactUpsert(ctx context.Context, c *automation.Call, in ContactInput) (ContactOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return ContactOutput{}, err
	}
	fields := map[string]any{}
	var phones, emails []string
	var rec crm.Contact
	if in.ContactID != 0 {
		if rec, err = d.Store.GetContact(ctx, in.ContactID); errors.Is(err, store.ErrNotFound) {
			return ContactOutput{}, automation.InputErrorf("contact_id", "no contact %d", in.ContactID)
		} else if err != nil {
			return ContactOutput{}, automation.Transient(err, 0)
		}
		fields = contactFields(rec)
		phones, emails = commValues(rec.Phones), commValues(rec.Emails)
	}
	for k, v := range map[string]string{"NAME": in.Name, "LAST_NAME": in.LastName} {
		if strings.TrimSpace(v) != "" {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if in.Phone != "" {
		phones = append(phones, in.Phone)
	}
	if in.Email != "" {
		emails = append(emails, in.Email)
	}
	if len(fields) == 0 && len(phones) == 0 && len(emails) == 0 {
		return ContactOutput{}, automation.InputErrorf("contact_id", "required: an Obmen contact, or a name, phone or e-mail")
	}
	cl := d.Client(p)
	sys := p.System()
	known := idFromExternal(rec.ExternalIDs, sys)
	by := ""
	if known == 0 {
		a, err := cl.Batch(ctx, findCmds("c", "CONTACT", phones, emails))
		if err != nil {
			return ContactOutput{}, failure(ActionContactUpsert, err)
		}
		if err := batchFailure(ActionContactUpsert, a); err != nil {
			return ContactOutput{}, err
		}
		known, by = found(a, "c", "CONTACT")
	}
	if c.DryRun {
		return ContactOutput{ID: known, Outcome: "dry_run", MatchedBy: by}, nil
	}
	out := ContactOutput{ID: known, MatchedBy: by}
	if known != 0 {
		// An update leaves the phones and e-mails alone: Bitrix24 adds a
		// multi-field value given without its ID, so sending them again
		// would double them; the contact was found by them anyway.
		if _, err := cl.Call(ctx, "crm.contact.update", map[string]any{"id": known, "fields": fields}); err != nil {
			return ContactOutput{}, failure(ActionContactUpsert, err)
		}
		out.Outcome = OutcomeUpdated
	} else {
		fields["PHONE"], fields["EMAIL"] = phoneField(phones...), emailField(emails...)
		fields["ASSIGNED_BY_ID"] = p.Responsible()
		a, err := cl.Call(ctx, "crm.contact.add", map[string]any{"fields": fields})
		if err != nil {
			return ContactOutput{}, failure(ActionContactUpsert, err)
		}
		out.ID, out.Outcome = idOf(a.Result), OutcomeCreated
	}
	if in.ContactID != 0 && idFromExternal(rec.ExternalIDs, sys) != out.ID {
		if _, err := d.Store.UpdateContact(ctx, c.Actor, in.ContactID, func(x *crm.Contact) error { setExternal(&x.Extra, sys, out.ID); return nil }); err != nil {
			return out, automation.Transient(fmt.Errorf("%s: store the Bitrix id %d on contact %d: %w", ActionContactUpsert, out.ID, in.ContactID, err), 0)
		}
	}
	return out, nil
}

// contactFields are an Obmen contact's fields in the portal's words,
// without the multi-fields.
func contactFields(x crm.Contact) map[string]any {
	f := map[string]any{"NAME": x.Name, "SECOND_NAME": x.SecondName, "LAST_NAME": x.LastName}
	if x.Position != "" {
		f["POST"] = x.Position
	}
	return f
}

func idFromExternal(ext map[string]string, sys string) int64 {
	n, _ := strconv.ParseInt(ext[sys], 10, 64)
	return n
}

func setExternal(x *crm.Extra, sys string, id int64) {
	if x.ExternalIDs == nil {
		x.ExternalIDs = map[string]string{}
	}
	x.ExternalIDs[sys] = strconv.FormatInt(id, 10)
}

func (d Deps) leadCreate(ctx context.Context, c *automation.Call, in LeadInput) (IDOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return IDOutput{}, err
	}
	fields := map[string]any{"TITLE": in.Title, "NAME": in.Name, "LAST_NAME": in.LastName, "COMPANY_TITLE": in.CompanyTitle,
		"COMMENTS": in.Comments, "ASSIGNED_BY_ID": p.Responsible()}
	if ph := phoneField(in.Phone); len(ph) > 0 {
		fields["PHONE"] = ph
	}
	if em := emailField(in.Email); len(em) > 0 {
		fields["EMAIL"] = em
	}
	if in.Opportunity != "" {
		fields["OPPORTUNITY"] = in.Opportunity
		fields["CURRENCY_ID"] = strings.ToUpper(in.Currency)
	}
	if c.DryRun {
		return IDOutput{}, nil
	}
	a, err := d.Client(p).Call(ctx, "crm.lead.add", map[string]any{"fields": fields})
	if err != nil {
		return IDOutput{}, failure(ActionLeadCreate, err)
	}
	return IDOutput{ID: idOf(a.Result)}, nil
}

func (d Deps) timelineAdd(ctx context.Context, c *automation.Call, in TimelineInput) (IDOutput, error) {
	p, err := d.portal(ctx, c, in.Connection)
	if err != nil {
		return IDOutput{}, err
	}
	if c.DryRun {
		return IDOutput{}, nil
	}
	a, err := d.Client(p).Call(ctx, "crm.timeline.comment.add", map[string]any{"fields": map[string]any{
		"ENTITY_ID": in.EntityID, "ENTITY_TYPE": in.EntityType, "COMMENT": in.Comment}})
	if err != nil {
		return IDOutput{}, failure(ActionTimelineAdd, err)
	}
	return IDOutput{ID: idOf(a.Result)}, nil
}

func timeNow() time.Time { return time.Now() }
