package bitrix

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// crm.timeline.comment.{get,update,delete,fields} and crm.activity.todo.add.
// Errors are those b24restdocs lists for the methods: the newer ones
// (update, delete, todo.add) answer codes (NOT_FOUND, ACCESS_DENIED,
// OWNER_NOT_FOUND, "100" for a missing argument), get answers crm.*'s
// empty code.

func coded(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Description: msg}
}

func commentArray(cm crm.Comment, c *Handler) *Array {
	return NewArray().
		Set("ID", strconv.FormatInt(cm.ID, 10)).
		Set("ENTITY_ID", strconv.FormatInt(cm.RecordID, 10)).
		Set("ENTITY_TYPE", timelineType(cm.Entity)).
		Set("CREATED", bitrixTime(cm.CreatedAt, c.loc)).
		Set("COMMENT", cm.Body).
		Set("AUTHOR_ID", strconv.FormatInt(cm.AuthorID, 10))
}

// commentID reads id; missing is "100", as the newer methods answer.
func commentID(c *call, legacy bool) (int64, error) {
	s, _ := c.paramText("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		if legacy {
			return 0, crmError("ID is not defined or invalid.")
		}
		return 0, coded("100", "Required fields are not provided: id")
	}
	return id, nil
}

// commentOwnerCheck checks ownerTypeId and ownerId when given: the
// comment must be on that record.
func commentOwnerCheck(c *call, cm crm.Comment) error {
	t, _ := c.paramText("ownerTypeId")
	o, _ := c.paramText("ownerId")
	if t == "" && o == "" {
		return nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n >= len(ownerTypeIDs) || ownerTypeIDs[n] != cm.Entity || o != strconv.FormatInt(cm.RecordID, 10) {
		return coded("OWNER_NOT_FOUND", "Owner of the item not found")
	}
	return nil
}

func commentError(err error, legacy bool) error {
	switch {
	case errors.Is(err, store.ErrNotFound) && legacy:
		return crmError("Not found.")
	case errors.Is(err, store.ErrNotFound):
		return coded("NOT_FOUND", "Not found.")
	case errors.Is(err, store.ErrForbidden) && legacy:
		return crmError("Access denied.")
	case errors.Is(err, store.ErrForbidden):
		return coded("ACCESS_DENIED", "Access denied.")
	}
	if fe, ok := crm.AsFieldError(err); ok && fe.Field == "body" {
		return coded("INVALID_ARG_VALUE", "Empty comment")
	}
	return err
}

// timelineCommentGet is crm.timeline.comment.get.
func (h *Handler) timelineCommentGet(ctx context.Context, c *call) (reply, error) {
	id, err := commentID(c, true)
	if err != nil {
		return reply{}, err
	}
	cm, err := h.store.GetComment(ctx, id)
	if err != nil {
		return reply{}, commentError(err, true)
	}
	return reply{result: commentArray(cm, h)}, nil
}

// timelineCommentUpdate is crm.timeline.comment.update: fields[COMMENT];
// the answer is the comment's id. FILES are not kept by Obmen's comments
// and are refused rather than dropped.
func (h *Handler) timelineCommentUpdate(ctx context.Context, c *call) (reply, error) {
	id, err := commentID(c, false)
	if err != nil {
		return reply{}, err
	}
	fields, err := c.paramArray("fields")
	if err != nil {
		return reply{}, err
	}
	if fields == nil {
		return reply{}, coded("100", "Required fields are not provided: fields")
	}
	if _, ok := lookupFold(fields, "FILES"); ok {
		return reply{}, crmError("Field FILES: Obmen's comments carry no files")
	}
	v, ok := lookupFold(fields, "COMMENT")
	if !ok {
		return reply{}, coded("100", "Required fields are not provided: COMMENT")
	}
	text, ok := scalarText(v)
	if !ok {
		return reply{}, crmError("Field COMMENT: must be a string")
	}
	cm, err := h.store.GetComment(ctx, id)
	if err != nil {
		return reply{}, commentError(err, false)
	}
	if err := commentOwnerCheck(c, cm); err != nil {
		return reply{}, err
	}
	if _, err := h.store.UpdateComment(ctx, c.actor(), id, text); err != nil {
		return reply{}, commentError(err, false)
	}
	return reply{result: id}, nil
}

// timelineCommentDelete is crm.timeline.comment.delete: result null.
func (h *Handler) timelineCommentDelete(ctx context.Context, c *call) (reply, error) {
	id, err := commentID(c, false)
	if err != nil {
		return reply{}, err
	}
	cm, err := h.store.GetComment(ctx, id)
	if err != nil {
		return reply{}, commentError(err, false)
	}
	if err := commentOwnerCheck(c, cm); err != nil {
		return reply{}, err
	}
	if err := h.store.DeleteComment(ctx, c.actor(), id); err != nil {
		return reply{}, commentError(err, false)
	}
	return reply{result: nil}, nil
}

// timelineCommentFields is crm.timeline.comment.fields.
func (h *Handler) timelineCommentFields(context.Context, *call) (reply, error) {
	out := NewArray()
	for _, f := range []struct {
		name, typ, title               string
		required, ro, immutable, multi bool
	}{
		{"ID", "integer", "ID", false, true, false, false},
		{"CREATED", "datetime", "Date added", false, true, false, false},
		{"ENTITY_ID", "integer", "ID of the element the comment is attached to", true, false, true, false},
		{"ENTITY_TYPE", "string", "Type of the element the comment is attached to", true, false, true, false},
		{"AUTHOR_ID", "integer", "Author", false, false, true, false},
		{"COMMENT", "string", "Comment text", false, false, false, false},
		{"FILES", "attached_diskfile", "File list", false, false, false, true},
	} {
		out.Set(f.name, NewArray().Set("type", f.typ).Set("isRequired", f.required).Set("isReadOnly", f.ro).
			Set("isImmutable", f.immutable).Set("isMultiple", f.multi).Set("isDynamic", false).Set("title", f.title))
	}
	return reply{result: out}, nil
}

// activityTodoAdd is crm.activity.todo.add: a to-do (an Obmen task) on a
// record, due at deadline; the answer is {"id": N}. pingOffsets, colorId
// and parentActivityId are accepted and not kept: Obmen's activities have
// no reminders, colours or parents.
func (h *Handler) activityTodoAdd(ctx context.Context, c *call) (reply, error) {
	var missing []string
	for _, p := range []string{"ownerTypeId", "ownerId", "deadline"} {
		if s, _ := c.paramText(p); s == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return reply{}, coded("100", "Required fields are missing: "+strings.Join(missing, ", "))
	}
	typ, _ := c.paramText("ownerTypeId")
	n, err := strconv.Atoi(typ)
	if err != nil || n <= 0 || n >= len(ownerTypeIDs) {
		return reply{}, coded("OWNER_NOT_FOUND", "Owner of the entity not found")
	}
	ownerText, _ := c.paramText("ownerId")
	owner, err := strconv.ParseInt(ownerText, 10, 64)
	if err != nil || owner <= 0 {
		return reply{}, coded("OWNER_NOT_FOUND", "Owner of the entity not found")
	}
	deadlineText, _ := c.paramText("deadline")
	deadline, ok := parseBitrixTime(deadlineText, h.loc)
	if !ok {
		return reply{}, coded("WRONG_DATETIME_FORMAT", "Incorrect date format: "+deadlineText)
	}
	title, err := c.paramText("title")
	if err != nil {
		return reply{}, err
	}
	desc, err := c.paramText("description")
	if err != nil {
		return reply{}, err
	}
	a := crm.Activity{Kind: crm.ActivityTask, Subject: title, Description: desc, StartAt: &deadline, EndAt: &deadline,
		OwnerType: ownerTypeIDs[n], OwnerID: owner}
	a.AssignedByID = c.user.ID
	if r, _ := c.paramText("responsibleId"); r != "" {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil || id <= 0 {
			return reply{}, crmError("Field responsibleId: %q is not a user id", r)
		}
		a.AssignedByID = id
	}
	if a.Subject == "" {
		// Obmen's activities need a subject; Bitrix24's to-do title
		// defaults to empty, its timeline shows the description.
		a.Subject = firstLine(desc, "To-do")
	}
	created, err := h.store.CreateActivity(ctx, c.actor(), a)
	if errors.Is(err, store.ErrNotFound) {
		return reply{}, coded("OWNER_NOT_FOUND", "Owner of the entity not found")
	}
	if errors.Is(err, store.ErrForbidden) {
		return reply{}, coded("ACCESS_DENIED", "Access denied.")
	}
	if fe, ok := crm.AsFieldError(err); ok && fe.Field == "owner_id" {
		return reply{}, coded("OWNER_NOT_FOUND", "Owner of the entity not found: "+fe.Message)
	}
	if err != nil {
		return reply{}, activityError(err)
	}
	return reply{result: NewArray().Set("id", created.ID)}, nil
}

// firstLine is s's first line, or def when s is blank.
func firstLine(s, def string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	line, _, _ := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > 250 {
		line = string(r[:250])
	}
	return line
}
