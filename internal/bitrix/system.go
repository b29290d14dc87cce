package bitrix

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// methodsList is "methods": the methods the webhook may call; full=true
// lists all, scope=NAME those of one scope ("" the basic ones).
func (h *Handler) methodsList(ctx context.Context, c *call) (reply, error) {
	full, _ := c.param("full")
	scope, byScope := c.param("scope")
	scopeName, _ := scalarText(scope)
	names := h.methodNames(func(m method) bool {
		switch {
		case byScope:
			if scopeName == "" {
				return len(m.scopes) == 0
			}
			return slices.Contains(m.scopes, scopeName)
		case truthy(full):
			return true
		}
		return len(m.scopes) == 0 || slices.ContainsFunc(m.scopes, c.hook.HasScope)
	})
	return reply{result: List(anys(names)...)}, nil
}

// scopeList is "scope": the webhook's scopes; full=true lists every scope
// a webhook may be given.
func (h *Handler) scopeList(ctx context.Context, c *call) (reply, error) {
	full, _ := c.param("full")
	if truthy(full) {
		all := slices.Clone(KnownScopes)
		slices.Sort(all)
		return reply{result: List(anys(all)...)}, nil
	}
	return reply{result: List(anys(c.hook.Scopes)...)}, nil
}

// serverTime is "server.time".
func (h *Handler) serverTime(ctx context.Context, c *call) (reply, error) {
	return reply{result: h.now().In(h.loc).Format(time.RFC3339)}, nil
}

// profile is "profile": who the webhook acts as, without any scope.
func (h *Handler) profile(ctx context.Context, c *call) (reply, error) {
	u := c.user
	return reply{result: NewArray().
		Set("ID", strconv.FormatInt(u.ID, 10)).
		Set("ADMIN", u.Role == crm.RoleAdmin).
		Set("NAME", u.FirstName).
		Set("LAST_NAME", u.LastName).
		Set("PERSONAL_GENDER", "").
		Set("TIME_ZONE", "")}, nil
}

// userCurrent is "user.current" in Bitrix24's user fields.
func (h *Handler) userCurrent(ctx context.Context, c *call) (reply, error) {
	depts, err := h.store.UserDepartments(ctx)
	if err != nil {
		return reply{}, err
	}
	return reply{result: userArray(c.user, depts[c.user.ID], h.loc)}, nil
}

// userArray is a user in Bitrix24's user fields, as user.get and
// user.current answer, with the ids of the departments the user belongs
// to as UF_DEPARTMENT. Obmen keeps no sign-in times or presence:
// LAST_LOGIN and LAST_ACTIVITY_DATE are "" and IS_ONLINE is N; the
// user's own department text is WORK_DEPARTMENT.
func userArray(u crm.User, departments []int64, loc *time.Location) *Array {
	mobile := ""
	if len(u.Phones) > 0 {
		mobile = u.Phones[0]
	}
	return NewArray().
		Set("ID", strconv.FormatInt(u.ID, 10)).
		Set("ACTIVE", u.Active).
		Set("NAME", u.FirstName).
		Set("LAST_NAME", u.LastName).
		Set("SECOND_NAME", u.MiddleName).
		Set("EMAIL", u.Email).
		Set("LAST_LOGIN", "").
		Set("DATE_REGISTER", bitrixTime(u.CreatedAt, loc)).
		Set("TIME_ZONE", "").
		Set("IS_ONLINE", "N").
		Set("TIMESTAMP_X", bitrixTime(u.UpdatedAt, loc)).
		Set("LAST_ACTIVITY_DATE", "").
		Set("PERSONAL_GENDER", "").
		Set("PERSONAL_WWW", "").
		Set("PERSONAL_BIRTHDAY", "").
		Set("PERSONAL_MOBILE", mobile).
		Set("PERSONAL_CITY", "").
		Set("WORK_PHONE", "").
		Set("WORK_POSITION", u.Position).
		Set("WORK_DEPARTMENT", u.Department).
		Set("UF_EMPLOYMENT_DATE", "").
		Set("UF_DEPARTMENT", List(anys(departments)...)).
		Set("USER_TYPE", "employee")
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
