package bitrix

// crm.activity.* over Obmen's activities. Bitrix24 numbers what Obmen
// names: OWNER_TYPE_ID 1 lead, 2 deal, 3 contact, 4 company (an account);
// TYPE_ID 1 meeting, 2 call, 3 task, 4 e-mail; PRIORITY 1 low, 2 normal,
// 3 high; DIRECTION 1 incoming, 2 outgoing. COMMUNICATIONS is one
// address, Obmen's comm_value: the first item's VALUE on write, one item
// of TYPE PHONE or EMAIL on read.

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Bitrix24's numbering of owner types, activity types, priorities and
// directions, index = number.
var (
	ownerTypeIDs  = []string{"", store.EntityLead, store.EntityDeal, store.EntityContact, store.EntityAccount}
	activityTypes = []string{"", crm.ActivityMeeting, crm.ActivityCall, crm.ActivityTask, crm.ActivityEmail}
	priorities    = []string{"", "low", "normal", "high"}
	directions    = []string{"", "in", "out"}
	// providerIDs are the PROVIDER_ID Bitrix24 gives each TYPE_ID.
	providerIDs = []string{"", "CRM_MEETING", "VOXIMPLANT_CALL", "CRM_TASKS_TASK", "CRM_EMAIL"}
	// providerTypeIDs are the PROVIDER_TYPE_ID Bitrix24 gives each TYPE_ID.
	providerTypeIDs = []string{"", "MEETING", "CALL", "TASK", "EMAIL"}
)

// numberOf is the Bitrix24 number of name in table, "" when it has none.
func numberOf(table []string, name string) string {
	for i, n := range table {
		if i > 0 && n == name {
			return strconv.Itoa(i)
		}
	}
	return ""
}

// nameOf reads a Bitrix24 number of table; "" or 0 is "".
func nameOf(table []string, field string, v any) (string, error) {
	n, err := parseInt(field, v)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	if n < 0 || n >= int64(len(table)) {
		return "", crmError("Field %s: %d is not one of 1..%d", field, n, len(table)-1)
	}
	return table[n], nil
}

// activityFieldNames maps Obmen's field names to Bitrix24's, for errors.
var activityFieldNames = map[string]string{
	"kind": "TYPE_ID", "subject": "SUBJECT", "description": "DESCRIPTION", "start_at": "START_TIME", "end_at": "END_TIME",
	"owner_type": "OWNER_TYPE_ID", "owner_id": "OWNER_ID", "direction": "DIRECTION", "comm_value": "COMMUNICATIONS",
	"priority": "PRIORITY", "done": "COMPLETED", "assigned_by_id": "RESPONSIBLE_ID",
}

func activityFieldName(path string) string {
	head := path
	if i := strings.IndexAny(path, "[."); i >= 0 {
		head = path[:i]
	}
	if n, ok := activityFieldNames[head]; ok {
		return n
	}
	return path
}

// activityError names the fields of a store error as Bitrix24 does.
func activityError(err error) error {
	if err == nil {
		return nil
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return crmError("Field %s: %s", activityFieldName(fe.Field), fe.Message)
	}
	return err
}

// applyActivity writes Bitrix24 activity fields into a.
func (h *Handler) applyActivity(a *crm.Activity, fields *Array) error {
	var err error
	for _, key := range fields.Keys() {
		val, _ := fields.Get(key)
		name := strings.ToUpper(strings.TrimSpace(key))
		text := func() (string, error) {
			s, ok := scalarText(val)
			if !ok {
				return "", crmError("Field %s: must be a string", name)
			}
			return strings.TrimSpace(s), nil
		}
		timeOf := func() (*time.Time, error) {
			s, err := text()
			if err != nil || s == "" {
				return nil, err
			}
			t, ok := parseBitrixTime(s, h.loc)
			if !ok {
				return nil, crmError("Field %s: %q is not a date and time", name, s)
			}
			return &t, nil
		}
		switch name {
		case "OWNER_TYPE_ID":
			a.OwnerType, err = nameOf(ownerTypeIDs, name, val)
		case "OWNER_ID":
			a.OwnerID, err = parseInt(name, val)
			if err == nil && a.OwnerID < 0 {
				err = crmError("Field %s: %d is not an id", name, a.OwnerID)
			}
		case "TYPE_ID":
			a.Kind, err = nameOf(activityTypes, name, val)
		case "SUBJECT":
			a.Subject, err = text()
		case "DESCRIPTION":
			a.Description, err = text()
		case "START_TIME":
			a.StartAt, err = timeOf()
		case "END_TIME", "DEADLINE":
			if _, both := fields.Get("END_TIME"); both && name == "DEADLINE" {
				continue
			}
			a.EndAt, err = timeOf()
		case "COMPLETED":
			a.Done = truthy(val)
		case "PRIORITY":
			a.Priority, err = nameOf(priorities, name, val)
		case "DIRECTION":
			a.Direction, err = nameOf(directions, name, val)
		case "RESPONSIBLE_ID":
			a.AssignedByID, err = parseInt(name, val)
			if err == nil && a.AssignedByID < 0 {
				err = crmError("Field %s: %d is not a user id", name, a.AssignedByID)
			}
		case "COMMUNICATIONS":
			a.CommValue = ""
			for _, it := range itemsOf(val) {
				item, ok := it.(*Array)
				if !ok {
					return crmError("Field %s: items must be arrays with VALUE", name)
				}
				v, _ := item.Get("VALUE")
				s, ok := scalarText(v)
				if !ok {
					return crmError("Field %s: VALUE must be a string", name)
				}
				if s = strings.TrimSpace(s); s != "" {
					a.CommValue = s
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// renderActivity answers an activity as crm.activity.get does.
func (h *Handler) renderActivity(a *crm.Activity) *Array {
	owner := ""
	if a.OwnerID != 0 {
		owner = strconv.FormatInt(a.OwnerID, 10)
	}
	typeID := numberOf(activityTypes, a.Kind)
	direction := numberOf(directions, a.Direction)
	if direction == "" {
		direction = "0"
	}
	status := "1"
	if a.Done {
		status = "2"
	}
	at := func(t *time.Time) any {
		if t == nil {
			return ""
		}
		return bitrixTime(*t, h.loc)
	}
	deadline := a.EndAt
	if deadline == nil {
		deadline = a.StartAt
	}
	comms := NewArray()
	if a.CommValue != "" {
		typ := "PHONE"
		if a.Kind == crm.ActivityEmail || strings.Contains(a.CommValue, "@") {
			typ = "EMAIL"
		}
		comms.Append(NewArray().Set("VALUE", a.CommValue).Set("TYPE", typ))
	}
	return NewArray().
		Set("ID", strconv.FormatInt(a.ID, 10)).
		Set("OWNER_ID", owner).
		Set("OWNER_TYPE_ID", numberOf(ownerTypeIDs, a.OwnerType)).
		Set("TYPE_ID", typeID).
		Set("PROVIDER_ID", providerIDs[max(0, atoi(typeID))]).
		Set("SUBJECT", a.Subject).
		Set("COMPLETED", yn(a.Done)).
		Set("STATUS", status).
		Set("RESPONSIBLE_ID", strconv.FormatInt(a.AssignedByID, 10)).
		Set("PRIORITY", numberOf(priorities, a.Priority)).
		Set("DESCRIPTION", a.Description).
		Set("DESCRIPTION_TYPE", "1").
		Set("DIRECTION", direction).
		Set("START_TIME", at(a.StartAt)).
		Set("END_TIME", at(a.EndAt)).
		Set("DEADLINE", at(deadline)).
		Set("CREATED", bitrixTime(a.CreatedAt, h.loc)).
		Set("LAST_UPDATED", bitrixTime(a.UpdatedAt, h.loc)).
		Set("AUTHOR_ID", strconv.FormatInt(a.CreatedByID, 10)).
		Set("EDITOR_ID", strconv.FormatInt(a.UpdatedByID, 10)).
		Set("COMMUNICATIONS", comms).
		// What Obmen's activities do not keep, as a fresh portal answers
		// it: no reminder, no result, no provider data.
		Set("PROVIDER_TYPE_ID", providerTypeIDs[max(0, atoi(typeID))]).
		Set("PROVIDER_GROUP_ID", nil).
		Set("ASSOCIATED_ENTITY_ID", "0").
		Set("NOTIFY_TYPE", "0").
		Set("NOTIFY_VALUE", "0").
		Set("LOCATION", "").
		Set("SETTINGS", NewArray()).
		Set("ORIGINATOR_ID", nil).
		Set("ORIGIN_ID", nil).
		Set("PROVIDER_PARAMS", NewArray()).
		Set("PROVIDER_DATA", nil).
		Set("RESULT_MARK", "0").
		Set("RESULT_VALUE", nil).
		Set("RESULT_SUM", nil).
		Set("RESULT_CURRENCY_ID", nil).
		Set("RESULT_STATUS", "0").
		Set("RESULT_STREAM", "0").
		Set("RESULT_SOURCE_ID", nil).
		Set("AUTOCOMPLETE_RULE", "0")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// loadActivity returns a live activity.
func (h *Handler) loadActivity(ctx context.Context, id int64) (crm.Activity, error) {
	a, err := h.store.GetActivity(ctx, id)
	if err != nil {
		return a, err
	}
	if a.DeletedAt != nil {
		return a, errNotFound
	}
	return a, nil
}

func (h *Handler) activityAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	var a crm.Activity
	if err := h.applyActivity(&a, orEmpty(fields)); err != nil {
		return reply{}, err
	}
	if a.AssignedByID == 0 {
		a.AssignedByID = c.user.ID
	}
	created, err := h.store.CreateActivity(ctx, c.actor(), a)
	if err != nil {
		return reply{}, activityError(err)
	}
	return reply{result: created.ID}, nil
}

func (h *Handler) activityGet(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	a, err := h.loadActivity(ctx, id)
	if err != nil {
		return reply{}, err
	}
	return reply{result: h.renderActivity(&a)}, nil
}

func (h *Handler) activityUpdate(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	if _, err := h.loadActivity(ctx, id); err != nil {
		return reply{}, err
	}
	if _, err := h.store.UpdateActivity(ctx, c.actor(), id, func(a *crm.Activity) error {
		return h.applyActivity(a, orEmpty(fields))
	}); err != nil {
		return reply{}, activityError(err)
	}
	return reply{result: true}, nil
}

func (h *Handler) activityDelete(ctx context.Context, c *call) (reply, error) {
	id, err := c.recordID()
	if err != nil {
		return reply{}, err
	}
	if err := h.store.Delete(ctx, c.actor(), store.EntityActivity, id); err != nil {
		return reply{}, err
	}
	return reply{result: true}, nil
}

// activityColumns are the filterable and sortable fields of activities:
// SQL expression and filter kind.
var activityColumns = map[string][2]string{
	"ID": {"r.id", kInt}, "OWNER_ID": {"r.owner_id", kInt}, "RESPONSIBLE_ID": {"r.assigned_by_id", kInt},
	"AUTHOR_ID": {"r.created_by_id", kInt}, "EDITOR_ID": {"r.updated_by_id", kInt},
	"SUBJECT": {"r.subject", kText}, "DESCRIPTION": {"r.description", kText},
	"START_TIME": {"r.start_at", kTime}, "END_TIME": {"r.end_at", kTime}, "DEADLINE": {"r.end_at", kTime},
	"CREATED": {"r.created_at", kTime}, "LAST_UPDATED": {"r.updated_at", kTime},
	"OWNER_TYPE_ID": {"r.owner_type", "owner"}, "TYPE_ID": {"r.kind", "type"},
	"PRIORITY": {"r.priority", "priority"}, "DIRECTION": {"r.direction", "direction"},
}

// activityCondition is a filter condition on an activity field.
func (h *Handler) activityCondition(q *sqlQuery, field, op string, vals []any) (string, error) {
	if field == "COMPLETED" {
		return flagCondition(field, op, vals, "r.done")
	}
	col, ok := activityColumns[field]
	if !ok {
		return "", crmError("Field %s: cannot filter activities by this field", field)
	}
	tables := map[string][]string{"owner": ownerTypeIDs, "type": activityTypes, "priority": priorities, "direction": directions}
	if table, ok := tables[col[1]]; ok {
		if op != "eq" && op != "ne" && op != "in" && op != "notin" {
			return "", crmError("Field %s: takes =, ! or a list", field)
		}
		return columnCondition(q, col[0], field, kCode, op, vals, func(v any) (any, error) { return nameOf(table, field, v) })
	}
	return columnCondition(q, col[0], field, col[1], op, vals, func(v any) (any, error) { return h.filterValue(field, col[1], v) })
}

// activityOrder is the ORDER BY of crm.activity.list.
func activityOrder(order *Array) string {
	return orderClause(order, func(field string) string { return activityColumns[field][0] })
}

func (h *Handler) activityList(ctx context.Context, c *call) (reply, error) {
	la, err := c.listArgs()
	if err != nil {
		return reply{}, err
	}
	ids, sel, start, total, err := h.listPage(ctx, la, "activities", store.EntityActivity, nil, h.activityCondition, activityOrder)
	if err != nil {
		return reply{}, err
	}
	result := NewArray()
	for _, id := range ids {
		a, err := h.store.GetActivity(ctx, id)
		if err != nil {
			return reply{}, err
		}
		full := h.renderActivity(&a)
		out := NewArray()
		for _, k := range full.Keys() {
			if k == "ID" || sel.has(k) {
				v, _ := full.Get(k)
				out.Set(k, v)
			}
		}
		result.Append(out)
	}
	return listReply(result, start, total), nil
}
