package bitrix

// crm.timeline.comment.add and .list over Obmen's comments. ENTITY_TYPE
// is Bitrix24's name of the record's type: lead, deal, contact or company
// (an account in Obmen).

import (
	"context"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// timelineEntities maps Bitrix24's ENTITY_TYPE to Obmen's entity.
var timelineEntities = map[string]string{
	"lead": store.EntityLead, "deal": store.EntityDeal, "contact": store.EntityContact, "company": store.EntityAccount,
}

// timelineType is the ENTITY_TYPE of an Obmen entity.
func timelineType(entity string) string {
	for t, e := range timelineEntities {
		if e == entity {
			return t
		}
	}
	return entity
}

// timelineTarget reads ENTITY_TYPE and ENTITY_ID from fields or a filter.
func timelineTarget(a *Array) (entity string, id int64, err error) {
	var typ, idText string
	for _, key := range a.Keys() {
		v, _ := a.Get(key)
		switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(key, "="))) {
		case "ENTITY_TYPE":
			s, ok := scalarText(v)
			if !ok {
				return "", 0, crmError("Field ENTITY_TYPE: must be a string")
			}
			typ = strings.ToLower(strings.TrimSpace(s))
		case "ENTITY_ID":
			s, ok := scalarText(v)
			if !ok {
				return "", 0, crmError("Field ENTITY_ID: must be an integer")
			}
			idText = strings.TrimSpace(s)
		}
	}
	entity, ok := timelineEntities[typ]
	if !ok {
		return "", 0, crmError("Field ENTITY_TYPE: %q is not one of lead, deal, contact, company", typ)
	}
	id, perr := strconv.ParseInt(idText, 10, 64)
	if perr != nil || id <= 0 {
		return "", 0, crmError("Field ENTITY_ID: is not defined or invalid")
	}
	return entity, id, nil
}

func (h *Handler) timelineCommentAdd(ctx context.Context, c *call) (reply, error) {
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	fields = orEmpty(fields)
	entity, id, err := timelineTarget(fields)
	if err != nil {
		return reply{}, err
	}
	text := ""
	for _, key := range fields.Keys() {
		if strings.EqualFold(strings.TrimSpace(key), "COMMENT") {
			v, _ := fields.Get(key)
			s, ok := scalarText(v)
			if !ok {
				return reply{}, crmError("Field COMMENT: must be a string")
			}
			text = s
		}
	}
	cm, err := h.store.AddComment(ctx, c.actor(), entity, id, text)
	if err != nil {
		if fe, ok := crm.AsFieldError(err); ok && fe.Field == "body" {
			return reply{}, crmError("Field COMMENT: %s", fe.Message)
		}
		return reply{}, err
	}
	return reply{result: cm.ID}, nil
}

func (h *Handler) timelineCommentList(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	entity, id, err := timelineTarget(orEmpty(filter))
	if err != nil {
		return reply{}, err
	}
	startText, err := c.paramText("start")
	if err != nil {
		return reply{}, err
	}
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	comments, err := h.store.ListComments(ctx, entity, id)
	if err != nil {
		return reply{}, err
	}
	result := NewArray()
	for i := start; i < int64(len(comments)) && i < start+pageSize; i++ {
		cm := comments[i]
		result.Append(NewArray().
			Set("ID", strconv.FormatInt(cm.ID, 10)).
			Set("CREATED", bitrixTime(cm.CreatedAt, h.loc)).
			Set("ENTITY_ID", strconv.FormatInt(cm.RecordID, 10)).
			Set("ENTITY_TYPE", timelineType(cm.Entity)).
			Set("AUTHOR_ID", strconv.FormatInt(cm.AuthorID, 10)).
			Set("COMMENT", cm.Body))
	}
	total := int64(len(comments))
	return listReply(result, start, &total), nil
}
