package bitrix

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// statusList is crm.status.list: filter[ENTITY_ID] (and STATUS_ID) and
// order by SORT.
func (h *Handler) statusList(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	f := orEmpty(filter)
	want := func(key string) string {
		v, _ := lookupFold(f, key)
		if v == nil {
			v, _ = lookupFold(f, "="+key)
		}
		s, _ := scalarText(v)
		return strings.TrimSpace(s)
	}
	entity, statusID := want("ENTITY_ID"), want("STATUS_ID")
	all, err := h.store.ListStatuses(ctx, entity)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, st := range all {
		if statusID != "" && st.StatusID != statusID {
			continue
		}
		out.Append(statusArray(st))
	}
	n := int64(out.Len())
	return reply{result: out, total: &n}, nil
}

func statusArray(st crm.Status) *Array {
	category := any(nil)
	if st.PipelineID != nil {
		category = strconv.FormatInt(*st.PipelineID, 10)
	}
	sem := any(nil)
	if st.Semantics != "" {
		sem = st.Semantics
	}
	a := NewArray().Set("ID", strconv.FormatInt(st.ID, 10)).Set("ENTITY_ID", st.EntityID).
		Set("STATUS_ID", st.StatusID).Set("NAME", st.Name).Set("NAME_INIT", "").
		Set("SORT", strconv.Itoa(st.Sort)).Set("SYSTEM", yn(st.System)).Set("CATEGORY_ID", category).
		Set("COLOR", nullText(st.Color)).Set("SEMANTICS", sem)
	if st.EntityID == "STATUS" || strings.HasPrefix(st.EntityID, "DEAL_STAGE") {
		// Stages and lead statuses carry their semantics in words too.
		a.Set("EXTRA", NewArray().Set("SEMANTICS", semanticsWord(st.Semantics)).Set("COLOR", nullText(st.Color)))
	}
	return a
}

// semanticsWord is a stage's semantics as the EXTRA block of
// crm.status.list words it.
func semanticsWord(s string) string {
	switch s {
	case crm.SemanticsSuccess:
		return "success"
	case crm.SemanticsFailure:
		return "failure"
	}
	return "process"
}

// statusEntityTypes is crm.status.entity.types: the dictionaries, one
// stage dictionary per deal pipeline.
func (h *Handler) statusEntityTypes(ctx context.Context, _ *call) (reply, error) {
	out := NewArray()
	for _, t := range [][2]string{{"STATUS", "Lead statuses"}, {"SOURCE", "Sources"}, {"CONTACT_TYPE", "Contact type"},
		{"COMPANY_TYPE", "Company type"}, {"EMPLOYEES", "Employees"}, {"INDUSTRY", "Industry"}, {"DEAL_TYPE", "Deal type"},
		{"HONORIFIC", "Salutations"}} {
		a := NewArray().Set("ID", t[0]).Set("NAME", t[1])
		if t[0] == "STATUS" {
			a.Set("SEMANTIC_INFO", semanticInfo("CONVERTED", "JUNK")).Set("ENTITY_TYPE_ID", 1)
		}
		out.Append(a)
	}
	pipes, err := h.store.ListPipelines(ctx)
	if err != nil {
		return reply{}, err
	}
	for _, p := range pipes {
		id := crm.StageEntityID(p.ID)
		a := NewArray().Set("ID", id).Set("NAME", "Deal stages ("+p.Name+")")
		if p.ID != 0 {
			a.Set("PARENT_ID", "DEAL_STAGE")
		}
		prefix := ""
		if p.ID != 0 {
			prefix = fmt.Sprintf("C%d:", p.ID)
		}
		a.Set("SEMANTIC_INFO", semanticInfo(prefix+"WON", prefix+"LOSE")).Set("ENTITY_TYPE_ID", 2).Set("CATEGORY_ID", p.ID)
		out.Append(a)
	}
	return reply{result: out}, nil
}

func semanticInfo(success, failure string) *Array {
	return NewArray().Set("START_FIELD", "NEW").Set("FINAL_SUCCESS_FIELD", success).Set("FINAL_UNSUCCESS_FIELD", failure).
		Set("FINAL_SORT", 0)
}

// dealCategoryList is crm.dealcategory.list: the pipelines besides the
// default one, as Bitrix24 answers it.
func (h *Handler) dealCategoryList(ctx context.Context, _ *call) (reply, error) {
	pipes, err := h.store.ListPipelines(ctx)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, p := range pipes {
		if p.ID == 0 {
			continue
		}
		out.Append(NewArray().Set("ID", strconv.FormatInt(p.ID, 10)).Set("NAME", p.Name).
			Set("SORT", strconv.Itoa(p.Sort)).Set("IS_LOCKED", "N"))
	}
	n := int64(out.Len())
	return reply{result: out, total: &n}, nil
}

// statusEntityItems is crm.status.entity.items: the items of one
// dictionary, by SORT, as NAME, SORT (a number) and STATUS_ID.
func (h *Handler) statusEntityItems(ctx context.Context, c *call) (reply, error) {
	entity, err := c.paramText("entityId")
	if err != nil || entity == "" {
		return reply{}, errBadEntityID
	}
	types, err := h.statusEntityTypes(ctx, c)
	if err != nil {
		return reply{}, err
	}
	known := false
	for _, t := range types.result.(*Array).Values() {
		if id, _ := t.(*Array).Get("ID"); id == entity {
			known = true
		}
	}
	if !known {
		return reply{}, errBadEntityID
	}
	all, err := h.store.ListStatuses(ctx, entity)
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, st := range all {
		out.Append(NewArray().Set("NAME", st.Name).Set("SORT", st.Sort).Set("STATUS_ID", st.StatusID))
	}
	return reply{result: out}, nil
}

// errBadEntityID is Bitrix24's answer to a missing or unknown entityId,
// with the message as the code.
var errBadEntityID = badRequest("The parameter entityId is not defined or invalid.", "The directory ID is not specified or is incorrect.")
