package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Kinds of fields: how a value is shown, edited and parsed from a form.
const (
	kText     = "text"
	kLong     = "long"     // textarea
	kInt      = "int"      // whole number
	kAmount   = "amount"   // money, two decimals
	kQty      = "qty"      // quantity, three decimals
	kDate     = "date"     // YYYY-MM-DD
	kDateTime = "datetime" // RFC 3339, edited as local time
	kBool     = "bool"
	kRef      = "ref"      // id of a record of Ref
	kIDs      = "ids"      // ids of records of Ref
	kStatus   = "status"   // status_id of the dictionary Dict
	kStage    = "stage"    // a deal's stage within its pipeline
	kPipeline = "pipeline" // a deal pipeline id
	kUser     = "user"     // a user id
	kComms    = "comms"    // phones or e-mails
	kChoice   = "choice"   // one of Choices, labelled "choice.<value>"
	kSocial   = "social"   // the one item of value type VT in the comms Comm (a VK URL in webs)
	// kAddress (address.go) is an address block.
)

// field describes one field of an entity in the UI.
type field struct {
	Name string
	Kind string
	Ref  string // entity of kRef and kIDs
	// RefFrom names the field that holds the entity of a kRef whose
	// entity varies (an activity's owner_type).
	RefFrom string
	Dict    string // dictionary of kStatus
	List    bool   // a default column of the list
	Sort    bool   // the store sorts and filters by it
	Filter  bool   // offered as a list filter
	RO      bool   // shown, never edited
	// Choices are the values of a kChoice field.
	Choices []string
	// Label, when set, names the field instead of "f.<Name>" (custom
	// fields carry their own labels).
	Label string
	// Custom is the declaration of a custom field ("custom.CODE").
	Custom *crm.CustomField
	// Comm and VT place a kSocial field: the multi-field ("ims",
	// "webs") and the value type ("VK") of its item.
	Comm, VT string
}

// label names the field in the user's language.
func (f field) label(t func(string) string) string {
	if f.Label != "" {
		return f.Label
	}
	return t("f." + f.Name)
}

// related is a list of other records shown on a card: those of Entity
// whose Field equals the card's id.
type related struct {
	Entity string
	Field  string
}

// record is an entity's record as JSON values (numbers kept as text).
type record map[string]any

// ops are an entity's store functions over records.
type ops struct {
	get    func(ctx context.Context, id int64) (record, error)
	list   func(ctx context.Context, p store.ListParams) ([]record, string, error)
	create func(ctx context.Context, a crm.Actor, patch record) (int64, error)
	// update applies patch; when version is not "", only to the record
	// whose updated_at is still version (else errStale, nothing written).
	update func(ctx context.Context, a crm.Actor, id int64, patch record, version string) error
	// check validates patch over cur (nil for a new record) as the store
	// would, writing nothing: it finds the fields at fault beside those
	// the form could not even parse.
	check func(cur, patch record) error
}

// errStale is an update refused because the record changed since the
// user read it (its updated_at moved on).
var errStale = errors.New("web: the record changed meanwhile")

// entity is a CRM entity the UI lists and edits generically.
type entity struct {
	Name    string // store entity: "lead"
	Fields  []field
	Related []related
	ops
}

// Field finds a field by name.
func (e *entity) Field(name string) (field, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return field{}, false
}

// bind adapts typed store functions to records: a record is the JSON of
// T, and writes are JSON merge patches over it, as in the REST API.
func bind[T any](get func(context.Context, int64) (T, error), list func(context.Context, store.ListParams) ([]T, string, error),
	create func(context.Context, crm.Actor, T) (T, error), update func(context.Context, crm.Actor, int64, func(*T) error) (T, error),
	defaults func() T) ops {
	return ops{
		get: func(ctx context.Context, id int64) (record, error) {
			v, err := get(ctx, id)
			if err != nil {
				return nil, err
			}
			return toRecord(v)
		},
		list: func(ctx context.Context, p store.ListParams) ([]record, string, error) {
			vs, next, err := list(ctx, p)
			if err != nil {
				return nil, "", err
			}
			out := make([]record, 0, len(vs))
			for i := range vs {
				rec, err := toRecord(vs[i])
				if err != nil {
					return nil, "", err
				}
				out = append(out, rec)
			}
			return out, next, nil
		},
		create: func(ctx context.Context, a crm.Actor, patch record) (int64, error) {
			var v T
			if defaults != nil {
				v = defaults()
			}
			b, err := json.Marshal(patch)
			if err != nil {
				return 0, err
			}
			if e := httpx.DecodeJSON(b, &v); e != nil {
				return 0, crm.Invalid(e.Field, "%s", e.Message)
			}
			created, err := create(ctx, a, v)
			if err != nil {
				return 0, err
			}
			rec, err := toRecord(created)
			if err != nil {
				return 0, err
			}
			return rec.ID(), nil
		},
		check: func(cur, patch record) error {
			var v T
			if defaults != nil {
				v = defaults()
			}
			doc := []byte("{}")
			if cur != nil {
				b, err := json.Marshal(cur)
				if err != nil {
					return err
				}
				doc = b
			} else if defaults != nil {
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				doc = b
			}
			pb, err := json.Marshal(patch)
			if err != nil {
				return err
			}
			merged, err := httpx.MergePatch(doc, pb)
			if err != nil {
				return err
			}
			if e := httpx.DecodeJSON(merged, &v); e != nil {
				return crm.Invalid(e.Field, "%s", e.Message)
			}
			if n, ok := any(&v).(interface{ Normalize() error }); ok {
				return n.Normalize()
			}
			return nil
		},
		update: func(ctx context.Context, a crm.Actor, id int64, patch record, version string) error {
			pb, err := json.Marshal(patch)
			if err != nil {
				return err
			}
			_, err = update(ctx, a, id, func(cur *T) error {
				doc, err := json.Marshal(cur)
				if err != nil {
					return err
				}
				// Checked inside the store's write, so that no other write
				// slips in between the check and this one.
				if version != "" {
					var v struct {
						UpdatedAt string `json:"updated_at"`
					}
					if err := json.Unmarshal(doc, &v); err != nil {
						return err
					}
					if v.UpdatedAt != version {
						return errStale
					}
				}
				merged, err := httpx.MergePatch(doc, pb)
				if err != nil {
					return err
				}
				var next T
				if e := httpx.DecodeJSON(merged, &next); e != nil {
					return crm.Invalid(e.Field, "%s", e.Message)
				}
				*cur = next
				return nil
			})
			return err
		},
	}
}

func toRecord(v any) (record, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("web: encode record: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rec record
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("web: decode record: %w", err)
	}
	return rec, nil
}

// ID is the record's id.
func (r record) ID() int64 { return intOf(r["id"]) }

func intOf(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case int64:
		return n
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func strOf(v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	case json.Number:
		return s.String()
	case bool:
		if s {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v)
}

// titleOf is how a record is named in links and headings.
func titleOf(entityName string, r record) string {
	s := func(k string) string { return strOf(r[k]) }
	var t string
	switch entityName {
	case store.EntityContact:
		t = joinNonEmpty(s("last_name"), s("name"), s("second_name"))
	case store.EntitySalesOrder, store.EntityInvoice:
		t = s("number")
	case store.EntityActivity:
		t = s("subject")
	case store.EntityMessage:
		t = s("text")
		if r := []rune(t); len(r) > 60 {
			t = string(r[:60]) + "…"
		}
	case store.EntityProduct, store.EntityService, store.EntityCatalog:
		t = s("name")
	default:
		t = s("title")
	}
	if t == "" {
		t = fmt.Sprintf("#%d", r.ID())
	}
	return t
}

func joinNonEmpty(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += " "
		}
		out += p
	}
	return out
}

// socialFields are the client's profiles in messengers and social
// networks (seed 000: VK, Facebook and Twitter URLs; plus Telegram,
// WhatsApp, Instagram), each one item of the record's web addresses or
// messengers, as Bitrix24 keeps them.
func socialFields() []field {
	return []field{
		{Name: "vk_url", Kind: kSocial, Comm: "webs", VT: "VK"},
		{Name: "facebook_url", Kind: kSocial, Comm: "webs", VT: "FACEBOOK"},
		{Name: "twitter_url", Kind: kSocial, Comm: "webs", VT: "TWITTER"},
		{Name: "telegram", Kind: kSocial, Comm: "ims", VT: "TELEGRAM"},
		{Name: "whatsapp", Kind: kSocial, Comm: "ims", VT: "WHATSAPP"},
		{Name: "instagram", Kind: kSocial, Comm: "ims", VT: "INSTAGRAM"},
	}
}

// entities lists every foundation entity with its fields, in menu order.
func entities(s *store.Store) []*entity {
	meta := func(fs ...field) []field {
		return append(fs,
			field{Name: "assigned_by_id", Kind: kUser, List: true, Sort: true, Filter: true},
			field{Name: "created_at", Kind: kDateTime, RO: true, List: true, Sort: true},
			field{Name: "updated_at", Kind: kDateTime, RO: true, Sort: true},
		)
	}
	active := func() crm.Product { return crm.Product{Active: true} }
	activeService := func() crm.Service { return crm.Service{Active: true} }
	return withSocial([]*entity{
		{Name: store.EntityLead, ops: bind(s.GetLead, s.ListLeads, s.CreateLead, s.UpdateLead, nil),
			Fields: meta(
				field{Name: "title", Kind: kText, List: true, Sort: true},
				field{Name: "name", Kind: kText, List: true, Sort: true},
				field{Name: "last_name", Kind: kText, List: true, Sort: true},
				field{Name: "second_name", Kind: kText, Sort: true},
				field{Name: "company_title", Kind: kText, List: true, Sort: true},
				field{Name: "position", Kind: kText},
				field{Name: "phones", Kind: kComms, List: true},
				field{Name: "emails", Kind: kComms, List: true},
				field{Name: "address", Kind: kAddress},
				field{Name: "status_id", Kind: kStatus, Dict: "STATUS", List: true, Sort: true, Filter: true},
				field{Name: "source_id", Kind: kStatus, Dict: "SOURCE", Sort: true, Filter: true},
				field{Name: "opportunity", Kind: kAmount, List: true, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "comments", Kind: kLong},
				field{Name: "utm_source", Kind: kText, Sort: true},
				field{Name: "utm_campaign", Kind: kText, Sort: true},
				field{Name: "contact_id", Kind: kRef, Ref: store.EntityContact, RO: true, Sort: true},
				field{Name: "account_id", Kind: kRef, Ref: store.EntityAccount, RO: true, Sort: true},
				field{Name: "deal_id", Kind: kRef, Ref: store.EntityDeal, RO: true, Sort: true},
			),
			Related: []related{{store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityAccount, ops: bind(s.GetAccount, s.ListAccounts, s.CreateAccount, s.UpdateAccount, nil),
			Fields: meta(
				field{Name: "title", Kind: kText, List: true, Sort: true},
				field{Name: "full_name", Kind: kText, Sort: true},
				field{Name: "inn", Kind: kText, List: true, Sort: true},
				field{Name: "kpp", Kind: kText, Sort: true},
				field{Name: "ogrn", Kind: kText, Sort: true},
				field{Name: "industry", Kind: kText, Sort: true},
				field{Name: "phones", Kind: kComms, List: true},
				field{Name: "emails", Kind: kComms, List: true},
				field{Name: "legal_address", Kind: kAddress},
				field{Name: "actual_address", Kind: kAddress},
				field{Name: "source_id", Kind: kStatus, Dict: "SOURCE"},
				field{Name: "comments", Kind: kLong},
			),
			Related: []related{{store.EntityContact, "account_id"}, {store.EntityDeal, "account_id"}, {store.EntitySalesOrder, "account_id"},
				{store.EntityInvoice, "account_id"}, {store.EntityTicket, "account_id"}, {store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityContact, ops: bind(s.GetContact, s.ListContacts, s.CreateContact, s.UpdateContact, nil),
			Fields: meta(
				field{Name: "last_name", Kind: kText, List: true, Sort: true},
				field{Name: "name", Kind: kText, List: true, Sort: true},
				field{Name: "second_name", Kind: kText, Sort: true},
				field{Name: "position", Kind: kText, List: true, Sort: true},
				field{Name: "birthdate", Kind: kDate, Sort: true},
				field{Name: "phones", Kind: kComms, List: true},
				field{Name: "emails", Kind: kComms, List: true},
				field{Name: "account_ids", Kind: kIDs, Ref: store.EntityAccount},
				field{Name: "address", Kind: kAddress},
				field{Name: "other_address", Kind: kAddress},
				field{Name: "source_id", Kind: kStatus, Dict: "SOURCE", Sort: true, Filter: true},
				field{Name: "comments", Kind: kLong},
				field{Name: "lead_id", Kind: kRef, Ref: store.EntityLead, RO: true, Sort: true},
			),
			Related: []related{{store.EntityDeal, "contact_id"}, {store.EntitySalesOrder, "contact_id"}, {store.EntityInvoice, "contact_id"},
				{store.EntityTicket, "contact_id"}, {store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityDeal, ops: bind(s.GetDeal, s.ListDeals, s.CreateDeal, s.UpdateDeal, nil),
			Fields: meta(
				field{Name: "title", Kind: kText, List: true, Sort: true},
				field{Name: "category_id", Kind: kPipeline, Sort: true, Filter: true},
				field{Name: "stage_id", Kind: kStage, List: true, Sort: true, Filter: true},
				field{Name: "opportunity", Kind: kAmount, List: true, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "probability", Kind: kInt, Sort: true},
				field{Name: "account_id", Kind: kRef, Ref: store.EntityAccount, List: true, Sort: true},
				field{Name: "contact_ids", Kind: kIDs, Ref: store.EntityContact},
				field{Name: "begin_date", Kind: kDate, Sort: true},
				field{Name: "close_date", Kind: kDate, Sort: true},
				field{Name: "source_id", Kind: kStatus, Dict: "SOURCE", Sort: true, Filter: true},
				field{Name: "comments", Kind: kLong},
				field{Name: "closed", Kind: kBool, RO: true, Sort: true, Filter: true},
				field{Name: "won", Kind: kBool, RO: true, Sort: true},
				field{Name: "lead_id", Kind: kRef, Ref: store.EntityLead, RO: true, Sort: true},
			),
			Related: []related{{store.EntitySalesOrder, "deal_id"}, {store.EntityInvoice, "deal_id"}, {store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntitySalesOrder, ops: bind(s.GetSalesOrder, s.ListSalesOrders, s.CreateSalesOrder, s.UpdateSalesOrder, nil),
			Fields: meta(
				field{Name: "number", Kind: kText, RO: true, List: true, Sort: true},
				field{Name: "status", Kind: kStatus, Dict: "ORDER_STATUS", List: true, Sort: true, Filter: true},
				field{Name: "order_date", Kind: kDate, List: true, Sort: true},
				field{Name: "account_id", Kind: kRef, Ref: store.EntityAccount, List: true, Sort: true},
				field{Name: "contact_id", Kind: kRef, Ref: store.EntityContact, Sort: true},
				field{Name: "deal_id", Kind: kRef, Ref: store.EntityDeal, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "total", Kind: kAmount, RO: true, List: true, Sort: true},
				field{Name: "comments", Kind: kLong},
			),
			Related: []related{{store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityInvoice, ops: bind(s.GetInvoice, s.ListInvoices, s.CreateInvoice, s.UpdateInvoice, nil),
			Fields: meta(
				field{Name: "number", Kind: kText, RO: true, List: true, Sort: true},
				field{Name: "status", Kind: kStatus, Dict: "INVOICE_STATUS", List: true, Sort: true, Filter: true},
				field{Name: "invoice_date", Kind: kDate, List: true, Sort: true},
				field{Name: "due_date", Kind: kDate, Sort: true},
				field{Name: "deal_id", Kind: kRef, Ref: store.EntityDeal, Sort: true},
				field{Name: "account_id", Kind: kRef, Ref: store.EntityAccount, List: true, Sort: true},
				field{Name: "contact_id", Kind: kRef, Ref: store.EntityContact, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "total", Kind: kAmount, RO: true, List: true, Sort: true},
				field{Name: "payment_url", Kind: kText},
				field{Name: "comments", Kind: kLong},
			),
			Related: []related{{store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityProduct, ops: bind(s.GetProduct, s.ListProducts, s.CreateProduct, s.UpdateProduct, active),
			Fields: meta(
				field{Name: "name", Kind: kText, List: true, Sort: true},
				field{Name: "article", Kind: kText, List: true, Sort: true},
				field{Name: "unit", Kind: kText, Sort: true},
				field{Name: "price", Kind: kAmount, List: true, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "vat_included", Kind: kBool},
				field{Name: "stock", Kind: kQty, List: true, Sort: true},
				field{Name: "active", Kind: kBool, List: true},
				field{Name: "catalog_ids", Kind: kIDs, Ref: store.EntityCatalog},
				field{Name: "description", Kind: kLong},
			),
		},
		{Name: store.EntityService, ops: bind(s.GetService, s.ListServices, s.CreateService, s.UpdateService, activeService),
			Fields: meta(
				field{Name: "name", Kind: kText, List: true, Sort: true},
				field{Name: "unit", Kind: kText, Sort: true},
				field{Name: "price", Kind: kAmount, List: true, Sort: true},
				field{Name: "currency", Kind: kText, Sort: true},
				field{Name: "vat_included", Kind: kBool},
				field{Name: "active", Kind: kBool, List: true, Sort: true, Filter: true},
				field{Name: "catalog_ids", Kind: kIDs, Ref: store.EntityCatalog},
				field{Name: "description", Kind: kLong},
			),
		},
		{Name: store.EntityCatalog, ops: bind(s.GetCatalog, s.ListCatalogs, s.CreateCatalog, s.UpdateCatalog, nil),
			Fields: meta(
				field{Name: "name", Kind: kText, List: true, Sort: true},
				field{Name: "parent_id", Kind: kRef, Ref: store.EntityCatalog, List: true, Sort: true},
				field{Name: "description", Kind: kLong},
			),
			Related: []related{{store.EntityCatalog, "parent_id"}},
		},
		{Name: store.EntityTicket, ops: bind(s.GetTicket, s.ListTickets, s.CreateTicket, s.UpdateTicket, nil),
			Fields: meta(
				field{Name: "title", Kind: kText, List: true, Sort: true},
				field{Name: "status", Kind: kStatus, Dict: "TICKET_STATUS", List: true, Sort: true, Filter: true},
				field{Name: "priority", Kind: kChoice, Choices: []string{"low", "normal", "high", "urgent"}, List: true, Sort: true, Filter: true},
				field{Name: "category", Kind: kText, Sort: true},
				field{Name: "account_id", Kind: kRef, Ref: store.EntityAccount, List: true, Sort: true},
				field{Name: "contact_id", Kind: kRef, Ref: store.EntityContact, Sort: true},
				field{Name: "description", Kind: kLong},
			),
			Related: []related{{store.EntityActivity, "owner_id"}},
		},
		{Name: store.EntityActivity, ops: bind(s.GetActivity, s.ListActivities, s.CreateActivity, s.UpdateActivity, nil),
			Fields: meta(
				field{Name: "subject", Kind: kText, List: true, Sort: true},
				field{Name: "kind", Kind: kChoice, Choices: []string{"call", "meeting", "task", "email"}, List: true, Sort: true, Filter: true},
				field{Name: "start_at", Kind: kDateTime, List: true, Sort: true},
				field{Name: "end_at", Kind: kDateTime, Sort: true},
				field{Name: "owner_type", Kind: kChoice, Choices: crm.OwnerTypes, Sort: true},
				field{Name: "owner_id", Kind: kRef, RefFrom: "owner_type", Sort: true},
				field{Name: "direction", Kind: kChoice, Choices: []string{"in", "out"}, Sort: true},
				field{Name: "priority", Kind: kChoice, Choices: []string{"low", "normal", "high"}, Sort: true},
				field{Name: "done", Kind: kBool, List: true, Sort: true, Filter: true},
				field{Name: "description", Kind: kLong},
			),
		},
		{Name: store.EntityMessage, ops: bind(s.GetMessage, s.ListMessages, s.CreateMessage, s.UpdateMessage, nil),
			// The related list of a card shows the first four: text,
			// time, responsible user, delivery status (seed 000).
			Fields: []field{
				{Name: "text", Kind: kText, List: true},
				{Name: "sent_at", Kind: kDateTime, List: true, Sort: true, Filter: true},
				{Name: "assigned_by_id", Kind: kUser, List: true, Sort: true, Filter: true},
				{Name: "status", Kind: kChoice, Choices: crm.MessageStatuses, List: true, Sort: true, Filter: true},
				{Name: "channel", Kind: kChoice, Choices: crm.MessageChannels, List: true, Sort: true, Filter: true},
				{Name: "direction", Kind: kChoice, Choices: []string{crm.DirectionIn, crm.DirectionOut}, List: true, Sort: true, Filter: true},
				{Name: "owner_type", Kind: kChoice, Choices: crm.MessageOwnerTypes, Sort: true, Filter: true},
				{Name: "owner_id", Kind: kRef, RefFrom: "owner_type", List: true, Sort: true},
				{Name: "handle", Kind: kText, Sort: true},
				{Name: "author", Kind: kText},
				{Name: "error", Kind: kText, RO: true},
				{Name: "created_by_id", Kind: kUser, RO: true, Sort: true},
				{Name: "created_at", Kind: kDateTime, RO: true, Sort: true},
			},
		},
	})
}

// withSocial puts the profile fields after the e-mails of leads, accounts
// and contacts, and their messages beside their activities.
func withSocial(es []*entity) []*entity {
	for _, e := range es {
		switch e.Name {
		case store.EntityLead, store.EntityAccount, store.EntityContact:
		default:
			continue
		}
		for i, f := range e.Fields {
			if f.Name == "emails" {
				e.Fields = append(e.Fields[:i+1:i+1], append(socialFields(), e.Fields[i+1:]...)...)
				break
			}
		}
		e.Related = append(e.Related, related{store.EntityMessage, "owner_id"})
	}
	return es
}
