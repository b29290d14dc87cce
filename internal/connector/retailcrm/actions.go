package retailcrm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Action names.
const (
	ActionCustomerCreate = "retailcrm.customer.create"
	ActionCustomerUpdate = "retailcrm.customer.update"
	ActionOrderCreate    = "retailcrm.order.create"
	ActionOrderUpdate    = "retailcrm.order.update"
	ActionOrderGet       = "retailcrm.order.get"
)

// Duplicate keys of retailcrm.customer.create.
const (
	ByPhone = "phone"
	ByEmail = "email"
)

// Outcomes of retailcrm.customer.create.
const (
	OutcomeCreated = "created"
	OutcomeFound   = "found"
	OutcomeUpdated = "updated"
)

// Phone is one of a customer's phones.
type Phone struct {
	Number string `json:"number"`
}

// Customer is retailCRM's customer object, the fields the editor offers
// (any other field of the API passes through as given).
type Customer struct {
	// Site is the store's code (the request's "site"); the connection's
	// when absent.
	Site         string         `json:"site"`
	ExternalID   string         `json:"externalId"`
	FirstName    string         `json:"firstName"`
	LastName     string         `json:"lastName"`
	Patronymic   string         `json:"patronymic"`
	Email        string         `json:"email"`
	Phones       []Phone        `json:"phones"`
	CustomFields map[string]any `json:"customFields"`
}

// CustomerEdit is retailcrm.customer.update's input: the customer by id
// or externalId, as "by" says.
type CustomerEdit struct {
	By string `json:"by" auto:"enum=externalId|id"`
	ID int64  `json:"id"`
	Customer
}

// Source is an order's source (UTM).
type Source struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
	Keyword  string `json:"keyword"`
	Content  string `json:"content"`
}

// OrderCustomer names an order's customer.
type OrderCustomer struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"externalId"`
}

// Order is retailCRM's order object, the fields the editor offers.
type Order struct {
	Site            string         `json:"site"`
	ExternalID      string         `json:"externalId"`
	Number          string         `json:"number"`
	Status          string         `json:"status"`
	OrderType       string         `json:"orderType"`
	OrderMethod     string         `json:"orderMethod"`
	Customer        *OrderCustomer `json:"customer"`
	FirstName       string         `json:"firstName"`
	LastName        string         `json:"lastName"`
	Phone           string         `json:"phone"`
	Email           string         `json:"email"`
	CustomerComment string         `json:"customerComment"`
	ManagerComment  string         `json:"managerComment"`
	Source          *Source        `json:"source"`
	CustomFields    map[string]any `json:"customFields"`
}

// OrderEdit is retailcrm.order.update's input.
type OrderEdit struct {
	By string `json:"by" auto:"enum=externalId|id"`
	ID int64  `json:"id"`
	Order
}

// OrderRef is retailcrm.order.get's input.
type OrderRef struct {
	By         string `json:"by" auto:"enum=externalId|id"`
	ID         int64  `json:"id"`
	ExternalID string `json:"externalId"`
	Site       string `json:"site"`
}

// CustomerOut is what retailcrm.customer.create and .update give.
type CustomerOut struct {
	ID         int64          `json:"id"`
	ExternalID string         `json:"externalId,omitempty"`
	Outcome    string         `json:"outcome,omitempty"`
	Matches    int64          `json:"matches,omitempty"`
	MatchedBy  string         `json:"matched_by,omitempty"`
	Customer   map[string]any `json:"customer,omitempty"`
}

// OrderOut is what the order actions give: the order as retailCRM
// answers it (its id, number, status, totalSumm, customFields …).
type OrderOut struct {
	ID         int64          `json:"id"`
	ExternalID string         `json:"externalId,omitempty"`
	Number     string         `json:"number,omitempty"`
	Status     string         `json:"status,omitempty"`
	Order      map[string]any `json:"order,omitempty"`
}

// action is one of the connector's actions: described from typed
// structs, run on the raw input (retailCRM's object with every field the
// user gave, custom fields and all).
type action struct {
	desc automation.Description
	run  func(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error)
}

func (x *action) Describe() automation.Description { return x.desc }

func (x *action) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, _ := input.(map[string]any)
	if input != nil && in == nil {
		return nil, automation.InputErrorf("", "the input is not an object")
	}
	if in == nil {
		in = map[string]any{}
	}
	for _, f := range x.desc.Input {
		if f.Required && empty(in[f.Name]) {
			return nil, automation.InputErrorf(f.Name, "required")
		}
	}
	return x.run(ctx, c, nil, Account{}, in)
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

func describe[In, Out any](name string, writes bool, dups []string) automation.Description {
	return automation.Define(automation.Spec{Name: name, Group: Group, Writes: writes, Duplicates: dups, FreeInput: true, Connection: Type},
		func(context.Context, *automation.Call, In) (Out, error) { var o Out; return o, nil }).Describe()
}

// Actions are the connector's actions.
func Actions(d Deps) []automation.Action {
	mk := func(desc automation.Description, run func(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error)) automation.Action {
		return &action{desc: desc, run: func(ctx context.Context, c *automation.Call, _ *Client, _ Account, in map[string]any) (any, error) {
			// A direct call (POST /api/v1/actions/…) names the
			// connection in its input; a step, in the step.
			if v, ok := in["connection"]; ok {
				delete(in, "connection")
				id := intOf(v)
				if c != nil && c.Connection != 0 && id != 0 && id != c.Connection {
					return nil, automation.InputErrorf("connection", "the step names connection %d, the input %d", c.Connection, id)
				}
				if c == nil {
					c = &automation.Call{}
				}
				if c.Connection == 0 {
					c.Connection = id
				}
			}
			a, err := d.account(ctx, c)
			if err != nil {
				return nil, err
			}
			return run(ctx, c, d.Client(a), a, in)
		}}
	}
	return []automation.Action{
		mk(describe[Customer, CustomerOut](ActionCustomerCreate, true, []string{ByPhone, ByEmail}), d.customerCreate),
		mk(describe[CustomerEdit, CustomerOut](ActionCustomerUpdate, true, nil), d.customerUpdate),
		mk(describe[Order, OrderOut](ActionOrderCreate, true, nil), d.orderCreate),
		mk(describe[OrderEdit, OrderOut](ActionOrderUpdate, true, nil), d.orderUpdate),
		mk(describe[OrderRef, OrderOut](ActionOrderGet, false, nil), d.orderGet),
	}
}

// account opens the step's connection.
func (d Deps) account(ctx context.Context, c *automation.Call) (Account, error) {
	if c == nil || c.Connection == 0 {
		return Account{}, automation.InputErrorf("connection", "required: the retailCRM connection (Integrations → Connections)")
	}
	conn, set, err := d.Conns.Open(ctx, c.Connection)
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, automation.InputErrorf("connection", "no connection %d", c.Connection)
	}
	if err != nil {
		return Account{}, automation.Transient(err, 0)
	}
	if conn.Type != Type {
		return Account{}, automation.InputErrorf("connection", "connection %q is a %s connection, not retailcrm", conn.Name, conn.Type)
	}
	return AccountOf(set), nil
}

// failure turns a client error into the step's: a refusal fails the
// step with retailCRM's words as its output, the rest is worth another
// attempt.
func failure(op string, err error) error {
	var ie *automation.InputError
	if errors.As(err, &ie) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) && !ae.Temporary() {
		out := map[string]any{"success": false, "errorMsg": ae.Msg}
		if len(ae.Errors) > 0 {
			errs := map[string]any{}
			for k, v := range ae.Errors {
				errs[k] = v
			}
			out["errors"] = errs
		}
		return automation.FailWith(fmt.Errorf("%s: %w", op, err), out)
	}
	return automation.Transient(fmt.Errorf("%s: %w", op, err), 0)
}

// takeSite removes "site" from the object and returns it, the
// connection's when absent.
func takeSite(in map[string]any, a Account) string {
	s, _ := in["site"].(string)
	delete(in, "site")
	if strings.TrimSpace(s) == "" {
		return a.Site
	}
	return strings.TrimSpace(s)
}

func form(field string, obj map[string]any, site string) (url.Values, error) {
	js, err := JSONField(obj)
	if err != nil {
		return nil, err
	}
	f := url.Values{field: {js}}
	if site != "" {
		f.Set("site", site)
	}
	return f, nil
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func (d Deps) customerCreate(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error) {
	site := takeSite(in, a)
	var m dupMatch
	if c.Duplicates != nil {
		if !c.DryRun {
			release, err := d.DB.LockKeys(ctx, lockKeys(a, c.Duplicates.By, in)...)
			if err != nil {
				return nil, automation.Transient(err, 0)
			}
			defer release()
		}
		var err error
		if m, err = findDuplicates(ctx, cl, site, c.Duplicates.By, in); err != nil {
			return nil, failure(ActionCustomerCreate+": look for duplicates", err)
		}
		if m.found != nil {
			id := intOf(m.found["id"])
			switch c.Duplicates.Then {
			case automation.DupSkip:
				if c.DryRun {
					return automation.Preview{DryRun: true, Would: fmt.Sprintf("nothing: retailCRM customer %d matches by %s", id, m.by), Send: m.found}, nil
				}
				return automation.ToValue(CustomerOut{ID: id, ExternalID: str(m.found["externalId"]), Outcome: OutcomeFound, Matches: int64(m.n), MatchedBy: m.by, Customer: m.found})
			case automation.DupUpdate:
				// The found customer keeps its own externalId: the
				// input's would re-key a record another system knows.
				patch := merge(in, nil)
				delete(patch, "externalId")
				f, err := form("customer", patch, site)
				if err != nil {
					return nil, err
				}
				f.Set("by", "id")
				if c.DryRun {
					return automation.Preview{DryRun: true, Would: fmt.Sprintf("POST %s/api/v5/customers/%d/edit (matches by %s)", a.URL, id, m.by), Send: patch}, nil
				}
				if _, err := cl.Post(ctx, fmt.Sprintf("/customers/%d/edit", id), f); err != nil {
					return nil, failure(ActionCustomerUpdate, err)
				}
				return automation.ToValue(CustomerOut{ID: id, ExternalID: str(m.found["externalId"]), Outcome: OutcomeUpdated, Matches: int64(m.n), MatchedBy: m.by, Customer: merge(m.found, patch)})
			case automation.DupCreate:
			default:
				return nil, automation.InputErrorf("duplicates.then", "%q is not create, skip or update", c.Duplicates.Then)
			}
		}
	}
	ext := ensureExternalID(c, in)
	f, err := form("customer", in, site)
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + a.URL + "/api/v5/customers/create", Send: in}, nil
	}
	if !c.Fresh {
		// A retried step: the first attempt may have created it.
		if got, err := cl.Get(ctx, "/customers/"+url.PathEscape(ext), url.Values{"by": {"externalId"}, "site": nonEmpty(site)}); err == nil {
			cust, _ := got["customer"].(map[string]any)
			return automation.ToValue(CustomerOut{ID: intOf(cust["id"]), ExternalID: ext, Outcome: OutcomeCreated, Matches: int64(m.n), MatchedBy: m.by, Customer: cust})
		}
	}
	res, err := cl.Post(ctx, "/customers/create", f)
	if err != nil {
		return nil, failure(ActionCustomerCreate, err)
	}
	id := intOf(res["id"])
	cust := merge(in, map[string]any{"id": id})
	return automation.ToValue(CustomerOut{ID: id, ExternalID: ext, Outcome: OutcomeCreated, Matches: int64(m.n), MatchedBy: m.by, Customer: cust})
}

// ensureExternalID gives a record created without an externalId one made
// of the step's key ("obmen-" and 20 hex digits), the same on every
// attempt: a step retried after its answer was lost (a timeout, a crash
// between the write and the journal) finds the record the first attempt
// made by that externalId instead of creating a second one. retailCRM has
// no other idempotency key; the externalId is the one its own docs give
// integrations for that. It returns the externalId.
func ensureExternalID(c *automation.Call, in map[string]any) string {
	if ext := str(in["externalId"]); ext != "" {
		return ext
	}
	ext := ExternalIDFor(c.Key())
	in["externalId"] = ext
	return ext
}

// ExternalIDFor is the externalId Obmen gives a record a step creates.
func ExternalIDFor(key string) string {
	h := sha256.Sum256([]byte(key))
	return "obmen-" + hex.EncodeToString(h[:10])
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// by reads "by" and the id it names from an edit's input.
func by(in map[string]any) (string, string, error) {
	b := str(in["by"])
	delete(in, "by")
	if b == "" {
		b = "externalId"
		if empty(in["externalId"]) && !empty(in["id"]) {
			b = "id"
		}
	}
	var key string
	switch b {
	case "id":
		key = str(in["id"])
		if intOf(in["id"]) <= 0 {
			return "", "", automation.InputErrorf("id", "required when by is id")
		}
	case "externalId":
		key = str(in["externalId"])
		if strings.TrimSpace(key) == "" {
			return "", "", automation.InputErrorf("externalId", "required when by is externalId")
		}
	default:
		return "", "", automation.InputErrorf("by", "%q is not externalId or id", b)
	}
	return b, key, nil
}

func (d Deps) customerUpdate(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error) {
	site := takeSite(in, a)
	b, key, err := by(in)
	if err != nil {
		return nil, err
	}
	f, err := form("customer", in, site)
	if err != nil {
		return nil, err
	}
	f.Set("by", b)
	path := "/customers/" + url.PathEscape(key) + "/edit"
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + a.URL + "/api/v5" + path, Send: in}, nil
	}
	res, err := cl.Post(ctx, path, f)
	if err != nil {
		return nil, failure(ActionCustomerUpdate, err)
	}
	id := intOf(res["id"])
	if id == 0 {
		id = intOf(in["id"])
	}
	return automation.ToValue(CustomerOut{ID: id, ExternalID: str(in["externalId"]), Outcome: OutcomeUpdated, Customer: merge(in, map[string]any{"id": id})})
}

func orderOut(o map[string]any) (any, error) {
	return automation.ToValue(OrderOut{ID: intOf(o["id"]), ExternalID: str(o["externalId"]), Number: str(o["number"]), Status: str(o["status"]), Order: o})
}

func (d Deps) orderCreate(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error) {
	site := takeSite(in, a)
	ext := ensureExternalID(c, in)
	f, err := form("order", in, site)
	if err != nil {
		return nil, err
	}
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + a.URL + "/api/v5/orders/create", Send: in}, nil
	}
	if !c.Fresh {
		if got, err := cl.Get(ctx, "/orders/"+url.PathEscape(ext), url.Values{"by": {"externalId"}, "site": nonEmpty(site)}); err == nil {
			o, _ := got["order"].(map[string]any)
			return orderOut(o)
		}
	}
	res, err := cl.Post(ctx, "/orders/create", f)
	if err != nil {
		return nil, failure(ActionOrderCreate, err)
	}
	o, _ := res["order"].(map[string]any)
	if o == nil {
		o = merge(in, map[string]any{"id": res["id"]})
	}
	return orderOut(o)
}

func (d Deps) orderUpdate(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error) {
	site := takeSite(in, a)
	b, key, err := by(in)
	if err != nil {
		return nil, err
	}
	f, err := form("order", in, site)
	if err != nil {
		return nil, err
	}
	f.Set("by", b)
	path := "/orders/" + url.PathEscape(key) + "/edit"
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + a.URL + "/api/v5" + path, Send: in}, nil
	}
	res, err := cl.Post(ctx, path, f)
	if err != nil {
		return nil, failure(ActionOrderUpdate, err)
	}
	o, _ := res["order"].(map[string]any)
	if o == nil {
		o = merge(in, map[string]any{"id": res["id"]})
	}
	return orderOut(o)
}

func (d Deps) orderGet(ctx context.Context, c *automation.Call, cl *Client, a Account, in map[string]any) (any, error) {
	site := takeSite(in, a)
	b, key, err := by(in)
	if err != nil {
		return nil, err
	}
	res, err := cl.Get(ctx, "/orders/"+url.PathEscape(key), url.Values{"by": {b}, "site": nonEmpty(site)})
	if err != nil {
		return nil, failure(ActionOrderGet, err)
	}
	o, _ := res["order"].(map[string]any)
	return orderOut(o)
}

// dupMatch is what the duplicate lookup found.
type dupMatch struct {
	found map[string]any
	n     int
	by    string
}

// phonesOf are the input's phones, normalized.
func phonesOf(in map[string]any) []string {
	var out []string
	list, _ := in["phones"].([]any)
	for _, p := range list {
		var num string
		switch x := p.(type) {
		case map[string]any:
			num = str(x["number"])
		case string:
			num = x
		}
		if n, ok := crm.NormalizePhone(num); ok {
			out = append(out, n)
		}
	}
	return out
}

func lockKeys(a Account, keys []string, in map[string]any) []string {
	var out []string
	for _, k := range keys {
		switch k {
		case ByPhone:
			for _, p := range phonesOf(in) {
				out = append(out, "retailcrm:"+a.URL+":phone:"+p)
			}
		case ByEmail:
			if e := strings.ToLower(strings.TrimSpace(str(in["email"]))); e != "" {
				out = append(out, "retailcrm:"+a.URL+":email:"+e)
			}
		}
	}
	return out
}

// findDuplicates looks the customer up with retailCRM's own filter: by
// phone through filter[name], which searches names and phones alike (the
// maintainers' answer in retailcrm/api-client-php#157), by e-mail through
// filter[email]; a found customer must really have the phone (compared
// normalized) or the e-mail, since both filters match parts.
func findDuplicates(ctx context.Context, cl *Client, site string, keys []string, in map[string]any) (dupMatch, error) {
	var m dupMatch
	seen := map[int64]bool{}
	look := func(key, filter, value string, match func(cust map[string]any) bool) error {
		q := url.Values{"filter[" + filter + "]": {value}}
		if site != "" {
			q.Set("filter[sites][]", site)
		}
		return cl.Pages(ctx, "/customers", q, "customers", 100, func(items []any) (bool, error) {
			for _, it := range items {
				cust, _ := it.(map[string]any)
				if cust == nil || !match(cust) || seen[intOf(cust["id"])] {
					continue
				}
				seen[intOf(cust["id"])] = true
				m.n++
				if m.found == nil {
					m.found, m.by = cust, key
				}
			}
			return true, nil
		})
	}
	for _, k := range keys {
		switch k {
		case ByPhone:
			for _, p := range phonesOf(in) {
				err := look(ByPhone, "name", searchDigits(p), func(cust map[string]any) bool {
					return len(intersect(phonesOf(cust), []string{p})) > 0
				})
				if err != nil {
					return m, err
				}
			}
		case ByEmail:
			e := strings.ToLower(strings.TrimSpace(str(in["email"])))
			if e == "" {
				continue
			}
			err := look(ByEmail, "email", e, func(cust map[string]any) bool {
				return strings.EqualFold(strings.TrimSpace(str(cust["email"])), e)
			})
			if err != nil {
				return m, err
			}
		default:
			return m, automation.InputErrorf("duplicates.by", "%q is not phone or email", k)
		}
	}
	return m, nil
}

// searchDigits is what filter[name] is given for a phone: its last ten
// digits, which a number kept as "8 925 …", "+7 (925) …" or "925…" all
// contain — retailCRM keeps phones as they were typed and matches parts.
func searchDigits(e164 string) string {
	d := strings.TrimPrefix(e164, "+")
	if len(d) > 10 {
		d = d[len(d)-10:]
	}
	return d
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}
