package bitrix

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// department.* over Obmen's department tree, and user.search. Bitrix24
// answers the errors of department.* as ERROR_CORE with its message.

func errCore(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE", Description: msg}
}

var errDepartmentNotFound = errCore("Department not found")

// departmentError maps the store's answers to department.*'s.
func departmentError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errDepartmentNotFound
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return errCore(fe.Message)
	}
	return err
}

func departmentArray(d crm.Department) *Array {
	a := NewArray().Set("ID", strconv.FormatInt(d.ID, 10)).Set("NAME", d.Name).Set("SORT", d.Sort)
	if d.ParentID != nil {
		a.Set("PARENT", strconv.FormatInt(*d.ParentID, 10))
	}
	if d.HeadUserID != 0 {
		a.Set("UF_HEAD", strconv.FormatInt(d.HeadUserID, 10))
	}
	return a
}

// departmentGet is department.get: filter by ID, NAME (whole), SORT,
// PARENT, UF_HEAD given at the top level (or in FILTER); sort/order;
// 50 a page from START.
func (h *Handler) departmentGet(ctx context.Context, c *call) (reply, error) {
	all, err := h.store.ListDepartments(ctx)
	if err != nil {
		return reply{}, err
	}
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	if filter == nil {
		filter = c.params
	}
	want := map[string]string{}
	for _, k := range filter.Keys() {
		key := strings.ToUpper(k)
		switch key {
		case "ID", "NAME", "SORT", "PARENT", "UF_HEAD":
			v, _ := filter.Get(k)
			s, ok := scalarText(v)
			if !ok {
				return reply{}, errCore("Filter " + key + " must not be an array")
			}
			want[key] = strings.TrimSpace(s)
		}
	}
	var out []*Array
	for _, d := range all {
		a := departmentArray(d)
		keep := true
		for k, w := range want {
			v, _ := a.Get(k)
			s, _ := scalarText(v)
			if s != w {
				keep = false
			}
		}
		if keep {
			out = append(out, a)
		}
	}
	sortKey, _ := c.paramText("sort")
	if sortKey = strings.ToUpper(sortKey); sortKey != "" {
		dir, _ := c.paramText("order")
		desc := strings.EqualFold(dir, "DESC")
		slices.SortStableFunc(out, func(x, y *Array) int {
			xv, _ := x.Get(sortKey)
			yv, _ := y.Get(sortKey)
			r := compareScalars(xv, yv)
			if desc {
				return -r
			}
			return r
		})
	}
	startText, _ := c.paramText("start")
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	result := NewArray()
	for i := start; i < int64(len(out)) && i < start+pageSize; i++ {
		result.Append(out[i])
	}
	n := int64(len(out))
	return listReply(result, start, &n), nil
}

// compareScalars orders two values as numbers when both are, else as
// text.
func compareScalars(x, y any) int {
	xs, _ := scalarText(x)
	ys, _ := scalarText(y)
	xn, xerr := strconv.ParseInt(xs, 10, 64)
	yn, yerr := strconv.ParseInt(ys, 10, 64)
	if xerr == nil && yerr == nil {
		switch {
		case xn < yn:
			return -1
		case xn > yn:
			return 1
		}
		return 0
	}
	return strings.Compare(xs, ys)
}

// departmentFields reads NAME, SORT, PARENT and UF_HEAD into d, those
// given only.
func departmentFields(c *call, d *crm.Department) error {
	if _, ok := c.param("NAME"); ok {
		d.Name, _ = c.paramText("NAME")
	}
	for _, f := range []struct {
		name string
		set  func(n int64)
	}{
		{"SORT", func(n int64) { d.Sort = int(n) }},
		{"PARENT", func(n int64) { d.ParentID = &n }},
		{"UF_HEAD", func(n int64) { d.HeadUserID = n }},
	} {
		v, ok := c.param(f.name)
		if !ok {
			continue
		}
		s, _ := scalarText(v)
		if strings.TrimSpace(s) == "" && f.name == "UF_HEAD" {
			f.set(0)
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 || (f.name == "SORT" && n > 1<<31-1) {
			return errCore(f.name + " must be a number")
		}
		f.set(n)
	}
	return nil
}

// departmentAdd is department.add: NAME and PARENT are required (there
// is one top-level department); the answer is the new id.
func (h *Handler) departmentAdd(ctx context.Context, c *call) (reply, error) {
	if c.user.Role != crm.RoleAdmin {
		return reply{}, errCore("Access denied")
	}
	var d crm.Department
	if err := departmentFields(c, &d); err != nil {
		return reply{}, err
	}
	if strings.TrimSpace(d.Name) == "" {
		return reply{}, errCore("Department name not provided.<br>")
	}
	if d.ParentID == nil {
		return reply{}, errCore("There can only be one top-level department in the company structure")
	}
	d, err := h.store.CreateDepartment(ctx, c.actor(), d)
	if err != nil {
		return reply{}, departmentError(err)
	}
	return reply{result: d.ID}, nil
}

func departmentID(c *call) (int64, error) {
	s, _ := c.paramText("ID")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errDepartmentNotFound
	}
	return id, nil
}

// departmentUpdate is department.update: the fields given change.
func (h *Handler) departmentUpdate(ctx context.Context, c *call) (reply, error) {
	if c.user.Role != crm.RoleAdmin {
		return reply{}, errCore("Access denied")
	}
	id, err := departmentID(c)
	if err != nil {
		return reply{}, err
	}
	_, err = h.store.ChangeDepartment(ctx, c.actor(), id, func(d *crm.Department) error { return departmentFields(c, d) })
	if err != nil {
		return reply{}, departmentError(err)
	}
	return reply{result: true}, nil
}

// departmentDelete is department.delete.
func (h *Handler) departmentDelete(ctx context.Context, c *call) (reply, error) {
	if c.user.Role != crm.RoleAdmin {
		return reply{}, errCore("Access denied")
	}
	id, err := departmentID(c)
	if err != nil {
		return reply{}, err
	}
	if err := h.store.DeleteDepartment(ctx, c.actor(), id); err != nil {
		return reply{}, departmentError(err)
	}
	return reply{result: true}, nil
}

// departmentFieldsList is department.fields: the fields and their titles.
func (h *Handler) departmentFieldsList(context.Context, *call) (reply, error) {
	return reply{result: NewArray().Set("ID", "ID").Set("NAME", "Department Name").Set("SORT", "Sort Order").
		Set("PARENT", "Parent Department").Set("UF_HEAD", "Manager")}, nil
}

// userSearch is user.search: users whose NAME, LAST_NAME, WORK_POSITION or
// department name (UF_DEPARTMENT_NAME) start with the given text, in any
// case, or, with FIND, any of them (and the middle name). USER_TYPE
// "employee" matches every Obmen user; other types none.
func (h *Handler) userSearch(ctx context.Context, c *call) (reply, error) {
	filter, err := c.paramArray("filter")
	if err != nil {
		return reply{}, err
	}
	if filter == nil {
		filter = c.params
	}
	crit := map[string]string{}
	for _, k := range filter.Keys() {
		key := strings.ToUpper(k)
		switch key {
		case "FIND", "NAME", "LAST_NAME", "WORK_POSITION", "UF_DEPARTMENT_NAME", "USER_TYPE":
			v, _ := filter.Get(k)
			s, _ := scalarText(v)
			crit[key] = strings.ToLower(strings.TrimSpace(s))
		}
	}
	users, err := h.store.ListUsers(ctx)
	if err != nil {
		return reply{}, err
	}
	depts, err := h.store.UserDepartments(ctx)
	if err != nil {
		return reply{}, err
	}
	all, err := h.store.ListDepartments(ctx)
	if err != nil {
		return reply{}, err
	}
	deptName := map[int64]string{}
	for _, d := range all {
		deptName[d.ID] = d.Name
	}
	prefix := func(q string, texts ...string) bool {
		for _, t := range texts {
			for _, w := range append([]string{t}, strings.Fields(t)...) {
				if strings.HasPrefix(strings.ToLower(w), q) {
					return true
				}
			}
		}
		return false
	}
	startText, _ := c.paramText("start")
	start, perr := strconv.ParseInt(startText, 10, 64)
	if perr != nil || start < 0 {
		start = 0
	}
	result := NewArray()
	var n int64
	for _, u := range users {
		names := []string{u.Department}
		for _, d := range depts[u.ID] {
			names = append(names, deptName[d])
		}
		ok := true
		for k, q := range crit {
			switch k {
			case "FIND":
				ok = ok && prefix(q, append([]string{u.FirstName, u.LastName, u.MiddleName, u.Position}, names...)...)
			case "NAME":
				ok = ok && prefix(q, u.FirstName)
			case "LAST_NAME":
				ok = ok && prefix(q, u.LastName)
			case "WORK_POSITION":
				ok = ok && prefix(q, u.Position)
			case "UF_DEPARTMENT_NAME":
				ok = ok && prefix(q, names...)
			case "USER_TYPE":
				ok = ok && (q == "" || q == "employee")
			}
		}
		if !ok {
			continue
		}
		if n >= start && n < start+pageSize {
			result.Append(userArray(u, depts[u.ID], h.loc))
		}
		n++
	}
	return listReply(result, start, &n), nil
}
