package bitrix

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// appInfo is "app.info". Bitrix24 makes an incoming webhook a local
// application of its user; app.info over the webhook answers as for a
// local application (STATUS "L") that is installed and never expires.
// Obmen is self-hosted, so the licence is "ru_selfhosted": the JS SDK
// reads "selfhosted" in it as a box (ids step by 1, box settings pages).
func (h *Handler) appInfo(ctx context.Context, c *call) (reply, error) {
	return reply{result: NewArray().
		Set("ID", c.hook.ID).
		Set("CODE", fmt.Sprintf("local.webhook%d", c.hook.ID)).
		Set("VERSION", 1).
		Set("STATUS", "L").
		Set("INSTALLED", true).
		Set("PAYMENT_EXPIRED", "N").
		Set("DAYS", nil).
		Set("LANGUAGE_ID", "ru").
		Set("LICENSE", "ru_selfhosted").
		Set("LICENSE_TYPE", "selfhosted").
		Set("LICENSE_FAMILY", "selfhosted")}, nil
}

// Options of app.option.* and user.option.*: per webhook integration
// (the webhook's own application), for the application (user 0) or for
// the webhook's user.

func (h *Handler) optionGet(userOf func(c *call) int64) func(ctx context.Context, c *call) (reply, error) {
	return func(ctx context.Context, c *call) (reply, error) {
		name, err := c.paramText("option")
		if err != nil {
			return reply{}, err
		}
		q := "SELECT name, value FROM bitrix_options WHERE owner = $1 AND user_id = $2"
		args := []any{bindingOwner(c), userOf(c)}
		if name != "" {
			q += " AND name = $3"
			args = append(args, name)
		}
		rows, err := h.db.Read.QueryContext(ctx, q+" ORDER BY name", args...)
		if err != nil {
			return reply{}, fmt.Errorf("bitrix: read options: %w", err)
		}
		defer rows.Close()
		all := NewArray()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return reply{}, fmt.Errorf("bitrix: read options: %w", err)
			}
			all.Set(k, v)
		}
		if err := rows.Err(); err != nil {
			return reply{}, fmt.Errorf("bitrix: read options: %w", err)
		}
		if name != "" {
			// One option is answered as its value, a missing one as null.
			v, _ := all.Get(name)
			return reply{result: v}, nil
		}
		return reply{result: all}, nil
	}
}

// optionSet stores options[…]; values that are arrays are kept as their
// JSON, as Bitrix24 keeps them serialised.
func (h *Handler) optionSet(userOf func(c *call) int64, adminOnly bool) func(ctx context.Context, c *call) (reply, error) {
	return func(ctx context.Context, c *call) (reply, error) {
		if adminOnly && c.user.Role != crm.RoleAdmin {
			return reply{}, &Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Description: "Access denied! Administrator rights required"}
		}
		opts, err := c.paramArray("options")
		if err != nil {
			return reply{}, err
		}
		if opts == nil || opts.Len() == 0 {
			return reply{}, &Error{Status: http.StatusBadRequest, Code: "ERROR_CORE", Description: "Argument 'options' is null or empty"}
		}
		type kv struct{ k, v string }
		var set []kv
		for _, k := range opts.Keys() {
			v, _ := opts.Get(k)
			s, ok := scalarText(v)
			if !ok {
				b, err := v.(*Array).MarshalJSON()
				if err != nil {
					return reply{}, fmt.Errorf("bitrix: option %s: %w", k, err)
				}
				s = string(b)
			}
			if strings.TrimSpace(k) == "" || len(k) > 255 {
				return reply{}, crmError("Option names must have 1 to 255 characters")
			}
			set = append(set, kv{k, s})
		}
		owner, user := bindingOwner(c), userOf(c)
		err = h.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, o := range set {
				if _, err := tx.ExecContext(ctx, `INSERT INTO bitrix_options (owner, user_id, name, value) VALUES ($1, $2, $3, $4)
					ON CONFLICT (owner, user_id, name) DO UPDATE SET value = excluded.value`, owner, user, o.k, o.v); err != nil {
					return fmt.Errorf("bitrix: set option %s: %w", o.k, err)
				}
			}
			return nil
		})
		if err != nil {
			return reply{}, err
		}
		return reply{result: true}, nil
	}
}

func appOptionUser(*call) int64    { return 0 }
func userOptionUser(c *call) int64 { return c.user.ID }

// Currencies: crm.currency.list, .get and .base.get over Obmen's currency
// dictionary. Obmen keeps a code, a name, a rate to the base currency and
// a sort; the formats are Russian's, as a Russian portal answers them.

// currencyFormat is how a currency's amounts are written.
type currencyFormat struct{ formatString, fullName, decPoint, thousandsSep, thousandsVariant string }

// knownFormats are the formats of the currencies Russian portals show;
// any other is written "# CODE".
var knownFormats = map[string]string{"RUB": "# ₽", "USD": "$#", "EUR": "# €", "KZT": "# ₸", "BYN": "# Br", "UAH": "# ₴", "CNY": "# ¥", "GBP": "£#"}

func formatOf(cur crm.Currency) currencyFormat {
	f, ok := knownFormats[cur.Code]
	if !ok {
		f = "# " + cur.Code
	}
	name := cur.Name
	if name == "" {
		name = cur.Code
	}
	return currencyFormat{formatString: f, fullName: name, decPoint: ",", thousandsSep: " ", thousandsVariant: "S"}
}

// rateText is a rate as Bitrix24 writes AMOUNT: four decimals.
func rateText(rate string) string {
	v, err := crm.ParseRate(rate)
	if err != nil {
		return rate
	}
	return fmt.Sprintf("%d.%04d", v/10000, v%10000)
}

func currencyArray(cur crm.Currency, withLang bool) *Array {
	f := formatOf(cur)
	a := NewArray().
		Set("CURRENCY", cur.Code).
		Set("AMOUNT_CNT", "1").
		Set("AMOUNT", rateText(cur.Rate)).
		Set("SORT", strconv.Itoa(cur.Sort)).
		Set("BASE", yn(cur.Base)).
		Set("FULL_NAME", f.fullName).
		Set("LID", "ru").
		Set("FORMAT_STRING", f.formatString).
		Set("DEC_POINT", f.decPoint).
		Set("THOUSANDS_SEP", f.thousandsSep).
		Set("DECIMALS", "2").
		// Obmen does not record when a rate changed.
		Set("DATE_UPDATE", nil)
	if withLang {
		lang := NewArray().Set("FORMAT_STRING", f.formatString).Set("FULL_NAME", f.fullName).Set("DEC_POINT", f.decPoint).
			Set("THOUSANDS_SEP", f.thousandsSep).Set("DECIMALS", "2").Set("THOUSANDS_VARIANT", f.thousandsVariant).Set("HIDE_ZERO", "Y")
		a.Set("LANG", NewArray().Set("ru", lang))
	}
	return a
}

// currencyList is crm.currency.list: the active currencies by sort;
// order[SORT|CURRENCY]=DESC reverses.
func (h *Handler) currencyList(ctx context.Context, c *call) (reply, error) {
	all, err := h.store.ListCurrencies(ctx)
	if err != nil {
		return reply{}, err
	}
	order, err := c.paramArray("order")
	if err != nil {
		return reply{}, err
	}
	out := NewArray()
	for _, cur := range all {
		if cur.Active {
			out.Append(currencyArray(cur, false))
		}
	}
	if order != nil {
		// Only the first key orders (the list is in the first key's order
		// already; DESC reverses it).
		if keys := order.Keys(); len(keys) > 0 {
			v, _ := order.Get(keys[0])
			dir, _ := scalarText(v)
			if strings.EqualFold(dir, "DESC") {
				vals := out.Values()
				out = NewArray()
				for i := len(vals) - 1; i >= 0; i-- {
					out.Append(vals[i])
				}
			}
		}
	}
	n := int64(out.Len())
	return reply{result: out, total: &n}, nil
}

// currencyGet is crm.currency.get: one currency by code (id).
func (h *Handler) currencyGet(ctx context.Context, c *call) (reply, error) {
	code, err := c.paramText("id")
	if err != nil {
		return reply{}, err
	}
	if code == "" {
		return reply{}, crmError("The parameter id is not defined or invalid.")
	}
	cur, err := h.store.GetCurrency(ctx, strings.ToUpper(code))
	if err != nil {
		return reply{}, err
	}
	return reply{result: currencyArray(cur, true)}, nil
}

// currencyBaseGet is crm.currency.base.get: the base currency's code.
func (h *Handler) currencyBaseGet(ctx context.Context, c *call) (reply, error) {
	all, err := h.store.ListCurrencies(ctx)
	if err != nil {
		return reply{}, err
	}
	for _, cur := range all {
		if cur.Base {
			return reply{result: cur.Code}, nil
		}
	}
	return reply{}, errors.New("bitrix: no base currency in the dictionary")
}

// Enumerations of crm.enum.*: ID, NAME, SYMBOL_CODE, SYMBOL_CODE_SHORT.
type enumItem struct {
	id                int
	name              string
	symbol, shortCode any
}

// ownerTypes are the CRM object types Bitrix24 lists in
// crm.enum.ownertype that Obmen has (quotes are listed: their type id is
// fixed, and callers look it up even where quotes are not served).
var ownerTypes = []enumItem{
	{1, "Lead", "LEAD", "L"}, {2, "Deal", "DEAL", "D"}, {3, "Contact", "CONTACT", "C"}, {4, "Company", "COMPANY", "CO"},
	{5, "Invoice (old version)", "INVOICE", "I"}, {31, "Invoice", "SMART_INVOICE", "SI"}, {7, "Quote", "QUOTE", "Q"},
	{8, "Billing Details", "REQUISITE", "RQ"},
}

// activityTypeEnum is crm.enum.activitytype's, as Bitrix24 answers them
// (with the undefined type 0); SYMBOL_CODE is null for these.
var activityTypeEnum = []enumItem{
	{0, "", nil, nil}, {1, "Meeting", nil, nil}, {2, "Call", nil, nil}, {3, "Task", nil, nil},
	{4, "E-mail", nil, nil}, {5, "Action", nil, nil}, {6, "User Action", nil, nil},
}

func enumReply(items []enumItem) reply {
	out := NewArray()
	for _, it := range items {
		out.Append(NewArray().Set("ID", it.id).Set("NAME", it.name).Set("SYMBOL_CODE", it.symbol).Set("SYMBOL_CODE_SHORT", it.shortCode))
	}
	return reply{result: out}
}

func (h *Handler) enumOwnerType(context.Context, *call) (reply, error) {
	return enumReply(ownerTypes), nil
}
func (h *Handler) enumActivityType(context.Context, *call) (reply, error) {
	return enumReply(activityTypeEnum), nil
}

// enumFields is crm.enum.fields: the fields of an enumeration's item.
func (h *Handler) enumFields(context.Context, *call) (reply, error) {
	return reply{result: describeFields([]fieldDesc{
		{name: "ID", typ: "int", title: "ID", readOnly: true},
		{name: "NAME", typ: "string", title: "Name", readOnly: true},
		{name: "SYMBOL_CODE", typ: "string", title: "Symbol code", readOnly: true},
		{name: "SYMBOL_CODE_SHORT", typ: "string", title: "Short symbol code", readOnly: true},
	}, false, nil)}, nil
}

// multifieldFields is crm.multifield.fields: the fields of a multi-field
// value (PHONE, EMAIL, WEB, IM …).
func (h *Handler) multifieldFields(context.Context, *call) (reply, error) {
	return reply{result: describeFields([]fieldDesc{
		{name: "ID", typ: "int", title: "ID", readOnly: true},
		{name: "TYPE_ID", typ: "string", title: "Field Type", readOnly: true},
		{name: "VALUE", typ: "string", title: "Value"},
		{name: "VALUE_TYPE", typ: "string", title: "Value Type"},
	}, false, nil)}, nil
}
