package action

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Seed 003's record updates ("Изменение Компании/Контакта/Лида/Сделки")
// name their inputs as Bitrix24's business-process forms do: "phone",
// "responsible", "source" given by id or by name. The update actions take
// these beside the record's own fields; seedFields translates them into
// the record's fields before the patch. Fields Obmen does not keep as
// columns (a company's revenue, a deal's type) go to the record's custom
// fields of that code, which an administrator defines.

// seedField is one of the seed's inputs of an update.
type seedField struct {
	name string
	typ  string // the description's type: string, integer, any, list
	// to is the record field it sets as given (after trimming).
	to string
	// apply sets the patch from the value instead of to.
	apply func(ctx context.Context, sp *seedPatch, v any) error
}

// seedPatch is the translation of one update's input.
type seedPatch struct {
	st    *store.Store
	field string
	patch map[string]any
	// cur is the record before the update (for multi-fields, which the
	// seed's inputs add to, and a deal's stage in its own pipeline).
	cur func(ctx context.Context) (map[string]any, error)
}

func seedText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		// A multiple "value insert" gives a list: the first, as the seed
		// says of users.
		if len(x) > 0 {
			return seedText(x[0])
		}
	}
	return fmt.Sprint(v)
}

// seedIDs reads ids given as a list, a number or "1, 2".
func seedIDs(field string, v any) ([]int64, error) {
	var parts []any
	switch x := v.(type) {
	case []any:
		parts = x
	case string:
		for _, p := range strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			parts = append(parts, p)
		}
	case nil:
	default:
		parts = []any{x}
	}
	out := []int64{}
	for i, p := range parts {
		id, err := recordID(field+"["+strconv.Itoa(i)+"]", p)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// seedComms reads a multi-field in Bitrix24's form ([{"VALUE": …,
// "VALUE_TYPE": …}]), as Obmen's ([{"value": …}]), as a list of strings
// or as one string of values separated by commas.
func seedComms(field string, v any) ([]crm.Comm, error) {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		items = []any{x}
	case string:
		for _, p := range strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
			items = append(items, p)
		}
	case nil:
	default:
		items = []any{seedText(x)}
	}
	var out []crm.Comm
	for i, it := range items {
		var c crm.Comm
		switch x := it.(type) {
		case map[string]any:
			for k, val := range x {
				switch strings.ToLower(k) {
				case "value":
					c.Value = seedText(val)
				case "value_type", "type":
					c.ValueType = strings.ToUpper(seedText(val))
				}
			}
		default:
			c.Value = seedText(x)
		}
		if c.Value == "" {
			if _, ok := it.(map[string]any); ok {
				return nil, automation.InputErrorf(field+"["+strconv.Itoa(i)+"]", "no VALUE")
			}
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// addComms adds the seed's values to the record's list (Bitrix24's update
// adds a multi-field's values that carry no ID), leaving out values it
// has already.
func addComms(key string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(ctx context.Context, sp *seedPatch, v any) error {
		add, err := seedComms(sp.field, v)
		if err != nil {
			return err
		}
		var list []any
		if prev, ok := sp.patch[key].([]any); ok {
			list = prev
		} else {
			cur, err := sp.cur(ctx)
			if err != nil {
				return err
			}
			list, _ = cur[key].([]any)
			list = slices.Clone(list)
		}
		for _, c := range add {
			dup := slices.ContainsFunc(list, func(e any) bool {
				m, _ := e.(map[string]any)
				return strings.EqualFold(seedText(m["value"]), c.Value) || (c.Value != "" && seedText(m["normalized"]) == c.Value)
			})
			if !dup {
				list = append(list, map[string]any{"value": c.Value, "value_type": c.ValueType})
			}
		}
		sp.patch[key] = list
		return nil
	}
}

// toCustom sets a custom field of the record (UF_CRM_<CODE>): what the
// seed has and Obmen keeps no column for. An administrator defines the
// field; without it the input is refused, naming it.
func toCustom(entity, code string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(ctx context.Context, sp *seedPatch, v any) error {
		defs, err := sp.st.CustomFields(ctx, entity)
		if err != nil {
			return fail(err)
		}
		if !slices.ContainsFunc(defs, func(f crm.CustomField) bool { return f.Code == code }) {
			return automation.InputErrorf(sp.field, "Obmen keeps it in the custom field %s of %s, which is not defined (Settings → custom fields)", code, entityWords(entity))
		}
		c, _ := sp.patch["custom"].(map[string]any)
		if c == nil {
			c = map[string]any{}
			sp.patch["custom"] = c
		}
		c[code] = seedText(v)
		return nil
	}
}

// responsible is a user given by id, login, e-mail or full name.
func responsible(ctx context.Context, sp *seedPatch, v any) error {
	id, err := userRef(ctx, sp.st, sp.field, v)
	if err != nil {
		return err
	}
	sp.patch["assigned_by_id"] = id
	return nil
}

// userRef finds a user by id ("user_5" as Bitrix24 writes one, too),
// login, e-mail or name.
func userRef(ctx context.Context, st *store.Store, field string, v any) (int64, error) {
	s := strings.TrimPrefix(seedText(v), "user_")
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		if _, err := st.GetUser(ctx, id); err != nil {
			return 0, automation.InputErrorf(field, "no user with id %d", id)
		}
		return id, nil
	}
	if s == "" {
		return 0, automation.InputErrorf(field, "a user id, login or name is required")
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return 0, fail(err)
	}
	for _, u := range users {
		full := strings.TrimSpace(u.FirstName + " " + u.LastName)
		rev := strings.TrimSpace(u.LastName + " " + u.FirstName)
		if strings.EqualFold(u.Login, s) || strings.EqualFold(u.Email, s) || strings.EqualFold(full, s) || strings.EqualFold(rev, s) {
			return u.ID, nil
		}
	}
	return 0, automation.InputErrorf(field, "no user %q (give an id, login, e-mail or name)", s)
}

// dictionary sets a record field to an entry of a CRM dictionary given by
// its code or its name.
func dictionary(entityID, to string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(ctx context.Context, sp *seedPatch, v any) error {
		code, err := statusRef(ctx, sp.st, sp.field, entityID, v)
		if err != nil {
			return err
		}
		sp.patch[to] = code
		return nil
	}
}

func statusRef(ctx context.Context, st *store.Store, field, entityID string, v any) (string, error) {
	s := seedText(v)
	if s == "" {
		return "", nil
	}
	list, err := st.ListStatuses(ctx, entityID)
	if err != nil {
		return "", fail(err)
	}
	for _, e := range list {
		if e.StatusID == s {
			return e.StatusID, nil
		}
	}
	for _, e := range list {
		if strings.EqualFold(e.Name, s) {
			return e.StatusID, nil
		}
	}
	return "", automation.InputErrorf(field, "%q is not in the dictionary %s (give its code or name)", s, entityID)
}

// pipeline sets a deal's pipeline ("direction") by id or name.
func pipeline(ctx context.Context, sp *seedPatch, v any) error {
	s := seedText(v)
	ps, err := sp.st.ListPipelines(ctx)
	if err != nil {
		return fail(err)
	}
	id, numErr := strconv.ParseInt(s, 10, 64)
	for _, p := range ps {
		if (numErr == nil && p.ID == id) || strings.EqualFold(p.Name, s) {
			sp.patch["category_id"] = p.ID
			return nil
		}
	}
	if numErr == nil && id == 0 {
		sp.patch["category_id"] = int64(0)
		return nil
	}
	return automation.InputErrorf(sp.field, "no deal pipeline %q (give its id or name)", s)
}

// stage sets a deal's stage by code or name, in the pipeline the input
// moves it to or else its own.
func stage(ctx context.Context, sp *seedPatch, v any) error {
	var cat int64
	if c, ok := sp.patch["category_id"].(int64); ok {
		cat = c
	} else {
		cur, err := sp.cur(ctx)
		if err != nil {
			return err
		}
		cat, _ = cur["category_id"].(int64)
	}
	code, err := statusRef(ctx, sp.st, sp.field, crm.StageEntityID(cat), v)
	if err != nil {
		return err
	}
	sp.patch["stage_id"] = code
	return nil
}

// firstID sets a one-record link from the first id given.
func firstID(to string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(_ context.Context, sp *seedPatch, v any) error {
		ids, err := seedIDs(sp.field, v)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			sp.patch[to] = int64(0)
			return nil
		}
		sp.patch[to] = ids[0]
		return nil
	}
}

// idList sets a many-record link.
func idList(to string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(_ context.Context, sp *seedPatch, v any) error {
		ids, err := seedIDs(sp.field, v)
		if err != nil {
			return err
		}
		sp.patch[to] = ids
		return nil
	}
}

// addressPart sets one part of an address field.
func addressPart(addr, part string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(_ context.Context, sp *seedPatch, v any) error {
		a, _ := sp.patch[addr].(map[string]any)
		if a == nil {
			a = map[string]any{}
			sp.patch[addr] = a
		}
		a[part] = seedText(v)
		return nil
	}
}

// Seed inputs shared by the entities.
var (
	seedPhone       = seedField{name: "phone", typ: "any", apply: addComms("phones")}
	seedEmail       = seedField{name: "email", typ: "any", apply: addComms("emails")}
	seedMessengers  = seedField{name: "messengers", typ: "any", apply: addComms("ims")}
	seedWeb         = seedField{name: "web", typ: "any", apply: addComms("webs")}
	seedResponsible = seedField{name: "responsible", typ: "string", apply: responsible}
	seedComment     = seedField{name: "comment", typ: "string", to: "comments"}
	seedBirthday    = seedField{name: "birthday", typ: "string", to: "birthdate"}
	seedSource      = seedField{name: "source", typ: "string", apply: dictionary("SOURCE", "source_id")}
)

// seedInputs are the seed's inputs of each entity's update.
var seedInputs = map[string][]seedField{
	store.EntityAccount: {
		{name: "industry", typ: "string", to: "industry"},
		{name: "revenue", typ: "string", apply: toCustom(store.EntityAccount, "UF_CRM_REVENUE")},
		{name: "currency", typ: "string", apply: toCustom(store.EntityAccount, "UF_CRM_CURRENCY")},
		{name: "employees", typ: "string", apply: toCustom(store.EntityAccount, "UF_CRM_EMPLOYEES")},
		{name: "contacts", typ: "any"}, // linked from the contacts' side after the update
		seedPhone, seedEmail, seedMessengers, seedResponsible, seedComment,
		{name: "address", typ: "string", apply: addressPart("actual_address", "street")},
		{name: "address_apartment", typ: "string", apply: addressPart("actual_address", "flat")},
		{name: "address_city", typ: "string", apply: addressPart("actual_address", "city")},
	},
	store.EntityContact: {
		seedBirthday,
		{name: "type", typ: "string", apply: toCustom(store.EntityContact, "UF_CRM_TYPE")},
		seedSource,
		{name: "companies", typ: "any", apply: idList("account_ids")},
		seedPhone, seedEmail, seedMessengers, seedWeb,
		{name: "post", typ: "string", to: "position"},
		seedResponsible, seedComment,
	},
	store.EntityLead: {
		seedBirthday,
		{name: "status", typ: "string", apply: dictionary("STATUS", "status_id")},
		{name: "type", typ: "string", apply: toCustom(store.EntityLead, "UF_CRM_TYPE")},
		seedSource,
		{name: "companies", typ: "any", apply: firstID("account_id")},
		seedPhone, seedEmail, seedResponsible, seedComment,
	},
	store.EntityActivity: seedActivity,
	store.EntityDeal: {
		{name: "type", typ: "string", apply: toCustom(store.EntityDeal, "UF_CRM_TYPE")},
		{name: "category", typ: "string", apply: pipeline},
		{name: "stage", typ: "string", apply: stage},
		{name: "tax_rate", typ: "string", apply: toCustom(store.EntityDeal, "UF_CRM_TAX_RATE")},
		{name: "company", typ: "any", apply: firstID("account_id")},
		{name: "contacts", typ: "any", apply: idList("contact_ids")},
		seedResponsible, seedComment, seedSource,
	},
}

// seedDescribed are the seed's inputs as description fields, less those
// the record has under the same name.
func seedDescribed(entity string, have []automation.Field) []automation.Field {
	var out []automation.Field
	for _, f := range seedInputs[entity] {
		if slices.ContainsFunc(have, func(h automation.Field) bool { return h.Name == f.name }) {
			continue
		}
		out = append(out, automation.Field{Name: f.name, Type: f.typ})
	}
	return out
}

// translateSeed replaces the seed's inputs of in by the record fields
// they set. cur reads the record as it is.
func translateSeed(ctx context.Context, st *store.Store, entity string, in map[string]any,
	cur func(context.Context) (map[string]any, error)) (map[string]any, error) {
	fields := seedInputs[entity]
	out := make(map[string]any, len(in))
	sp := &seedPatch{st: st, patch: out}
	var memo map[string]any
	sp.cur = func(ctx context.Context) (map[string]any, error) {
		if memo != nil {
			return memo, nil
		}
		m, err := cur(ctx)
		if err != nil {
			return nil, err
		}
		memo = m
		return m, nil
	}
	// Record fields first, so that a seed input on the same thing (a
	// category before its stage) sees them.
	for k, v := range in {
		if !slices.ContainsFunc(fields, func(f seedField) bool { return f.name == k }) {
			out[k] = v
		}
	}
	for _, f := range fields {
		v, ok := in[f.name]
		if !ok || f.apply == nil && f.to == "" {
			continue
		}
		sp.field = f.name
		if f.to != "" {
			out[f.to] = seedText(v)
			continue
		}
		if err := f.apply(ctx, sp, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// entityRef reads a CRM entity named as seed 003's forms do: Obmen's name,
// Bitrix24's ("CRM_COMPANY", "COMPANY", "company"), or Russian.
func entityRef(field string, v any) (string, error) {
	s := strings.ToLower(strings.TrimSpace(seedText(v)))
	s = strings.TrimPrefix(s, "crm_")
	switch s {
	case "company", "account", "компания", "компании":
		return store.EntityAccount, nil
	case "contact", "контакт", "контакты":
		return store.EntityContact, nil
	case "lead", "лид", "лиды":
		return store.EntityLead, nil
	case "deal", "сделка", "сделки":
		return store.EntityDeal, nil
	case "invoice", "счёт", "счет":
		return store.EntityInvoice, nil
	case "sales_order", "order", "заказ":
		return store.EntitySalesOrder, nil
	case "ticket", "обращение":
		return store.EntityTicket, nil
	}
	return "", automation.InputErrorf(field, "%q is not a CRM entity (company, contact, lead, deal, invoice, sales_order, ticket)", seedText(v))
}

// activityKinds are the seed's activity types: Bitrix24's TYPE_ID
// numbers, their names and Russian words.
var activityKinds = map[string]string{
	"1": crm.ActivityMeeting, "meeting": crm.ActivityMeeting, "встреча": crm.ActivityMeeting,
	"2": crm.ActivityCall, "call": crm.ActivityCall, "звонок": crm.ActivityCall,
	"3": crm.ActivityTask, "task": crm.ActivityTask, "задача": crm.ActivityTask,
	"4": crm.ActivityEmail, "email": crm.ActivityEmail, "e-mail": crm.ActivityEmail, "письмо": crm.ActivityEmail,
}

// importances are the seed's low, medium and high (Bitrix24's PRIORITY
// 1, 2, 3).
var importances = map[string]string{
	"1": "low", "low": "low", "низкая": "low",
	"2": "normal", "normal": "normal", "medium": "normal", "средняя": "normal",
	"3": "high", "high": "high", "высокая": "high",
}

func oneOf(words map[string]string, to, what string) func(ctx context.Context, sp *seedPatch, v any) error {
	return func(_ context.Context, sp *seedPatch, v any) error {
		s := strings.ToLower(seedText(v))
		w, ok := words[s]
		if !ok {
			return automation.InputErrorf(sp.field, "%q is not %s", seedText(v), what)
		}
		sp.patch[to] = w
		return nil
	}
}

// seedActivity are seed 003's inputs of "Создание своего дела в crm".
var seedActivity = []seedField{
	{name: "title", typ: "string", to: "subject"},
	{name: "type", typ: "string", apply: oneOf(activityKinds, "kind", "a type: meeting (1), call (2), task (3) or email (4)")},
	{name: "content", typ: "string", to: "description"},
	{name: "entity_type", typ: "string", apply: func(_ context.Context, sp *seedPatch, v any) error {
		e, err := entityRef(sp.field, v)
		sp.patch["owner_type"] = e
		return err
	}},
	{name: "entity_id", typ: "any", apply: func(_ context.Context, sp *seedPatch, v any) error {
		id, err := recordID(sp.field, firstOf(v))
		sp.patch["owner_id"] = id
		return err
	}},
	{name: "importance", typ: "string", apply: oneOf(importances, "priority", "low, normal (medium) or high")},
	seedResponsible,
	{name: "deadline", typ: "string", to: "end_at"},
	{name: "communication", typ: "string", to: "comm_value"},
}
