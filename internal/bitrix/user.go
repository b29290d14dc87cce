package bitrix

import (
	"context"
	"strconv"
	"strings"
)

// userGet is "user.get": the users a filter selects (ID, ACTIVE), by id,
// 50 a page from start. The filter is given as filter[…] or, as Bitrix24
// also accepts, as top-level parameters.
func (h *Handler) userGet(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	if filter == nil {
		filter = c.params
	}
	var ids map[int64]bool
	var active *bool
	for _, key := range filter.Keys() {
		v, _ := filter.Get(key)
		switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(key, "="))) {
		case "ID":
			ids = map[int64]bool{}
			for _, it := range itemsOf(v) {
				n, err := parseInt("ID", it)
				if err != nil {
					return reply{}, err
				}
				ids[n] = true
			}
		case "ACTIVE":
			b := truthy(v)
			active = &b
		}
	}
	startText, err := c.paramText("start")
	if err != nil {
		return reply{}, err
	}
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	users, err := h.store.ListUsers(ctx)
	if err != nil {
		return reply{}, err
	}
	depts, err := h.store.UserDepartments(ctx)
	if err != nil {
		return reply{}, err
	}
	result := NewArray()
	var n int64
	for _, u := range users {
		if (ids != nil && !ids[u.ID]) || (active != nil && u.Active != *active) {
			continue
		}
		if n >= start && n < start+pageSize {
			result.Append(userArray(u, depts[u.ID], h.loc))
		}
		n++
	}
	return listReply(result, start, &n), nil
}
