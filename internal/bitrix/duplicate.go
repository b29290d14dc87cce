package bitrix

import (
	"context"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// duplicateEntities are Bitrix24's entity types with their Obmen entity
// and table.
var duplicateEntities = []struct{ bitrix, entity, table string }{
	{"LEAD", store.EntityLead, "leads"}, {"CONTACT", store.EntityContact, "contacts"}, {"COMPANY", store.EntityAccount, "accounts"},
}

// duplicateFindByComm is crm.duplicate.findbycomm: the live leads,
// contacts and companies with one of values (phones in any format,
// e-mails in any case) → {"LEAD":[ids], "CONTACT":[ids]}; types without a
// match are left out, and no match at all is an empty list, as in
// Bitrix24.
func (h *Handler) duplicateFindByComm(ctx context.Context, c *call) (reply, error) {
	typ, err := c.paramText("type")
	if err != nil {
		return reply{}, err
	}
	// The refusals are worded as b24restdocs lists them
	// (api-reference/crm/duplicates/crm-duplicate-find-by-comm.md).
	kind := strings.ToUpper(strings.TrimSpace(typ))
	if kind == "" {
		return reply{}, crmError("Communication type is not defined")
	}
	if kind != crm.KindPhone && kind != crm.KindEmail {
		return reply{}, crmError("Communication type '%s' is not supported in current context", typ)
	}
	v, _ := c.param("values")
	values := itemsOf(v)
	if len(values) == 0 {
		return reply{}, crmError("Communication values is not defined")
	}
	if len(values) > 20 {
		return reply{}, crmError("Too many values: at most 20")
	}
	only, err := c.paramText("entity_type")
	if err != nil {
		return reply{}, err
	}
	only = strings.ToUpper(only)
	out := NewArray()
	for _, e := range duplicateEntities {
		if only != "" && only != e.bitrix {
			continue
		}
		q := &sqlQuery{}
		ph := make([]string, 0, len(values))
		for _, v := range values {
			s, ok := scalarText(v)
			if !ok {
				return reply{}, crmError("Parameter values must be a list of strings")
			}
			ph = append(ph, q.arg(normalizedComm(kind, s)))
		}
		mine := ""
		if c := store.ScopeCondition(ctx, e.entity, "r", q.arg); c != "" {
			mine = " AND " + c // a manager's webhook finds their own records
		}
		query := "SELECT DISTINCT c.record_id FROM comms c JOIN " + e.table + " r ON r.id = c.record_id AND r.deleted_at = 0" + mine +
			" WHERE c.entity = " + q.arg(e.entity) + " AND c.kind = " + q.arg(kind) + " AND c.normalized IN (" + strings.Join(ph, ", ") + ") ORDER BY c.record_id"
		rows, err := h.db.Read.QueryContext(ctx, query, q.args...)
		if err != nil {
			return reply{}, fmt.Errorf("bitrix: find duplicates: %w", err)
		}
		ids := NewArray()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return reply{}, fmt.Errorf("bitrix: find duplicates: %w", err)
			}
			ids.Append(id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return reply{}, fmt.Errorf("bitrix: find duplicates: %w", err)
		}
		if ids.Len() > 0 {
			out.Set(e.bitrix, ids)
		}
	}
	return reply{result: out}, nil
}
