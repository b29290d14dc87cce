package exchange

import (
	"slices"
	"strings"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
)

// Requisites that web sites built on Bitrix (and the modules that copy its
// orders document) write instead of 1C's Проведен/ПометкаУдаления.
const (
	reqOrderStatus = "Статус заказа"
	reqCancelled   = "Отменен"
	reqPaid        = "Заказ оплачен"
	reqPaidDate    = "Дата оплаты"
	reqPaymentDoc  = "Номер платежного документа"
	reqShipped     = "Отгружен"
	reqFinal       = "Финальный статус"
	reqDeliveryOK  = "Доставка разрешена"
)

// OrderStatus is the status of an order as 1C (or a site) sent it:
//
//  1. marked for deletion or cancelled (ПометкаУдаления, Отменен) → Cancelled;
//  2. a "Статус заказа" found in the settings' status table (what Obmen
//     writes to 1C for each status, read backwards; "[F] Доставлен" is
//     found as itself, as "Доставлен" and as "F") or naming a status →
//     that status;
//  3. with the requisite Проведен, seed 000's rule (DeriveStatus);
//  4. else the site's flags: shipped, paid (a payment date or document)
//     or final → Delivered; delivery allowed → Approved; else Created.
func OrderStatus(d *commerceml.Document, mapping map[string]string) string {
	for _, n := range []string{reqDeleted, reqCancelled} {
		if v, _ := d.Requisite(n); truthy(v) {
			return crm.OrderCancelled
		}
	}
	if v, _ := d.Requisite(reqOrderStatus); v != "" {
		if st, ok := StatusFrom1C(v, mapping); ok {
			return st
		}
	}
	if _, ok := d.Requisite(reqPosted); ok {
		return DeriveStatus(d)
	}
	for _, n := range []string{reqShipped, reqPaid, reqFinal} {
		if v, _ := d.Requisite(n); truthy(v) {
			return crm.OrderDelivered
		}
	}
	for _, n := range []string{reqPaidDate, reqPaymentDoc, reqPaymentNo, reqPaymentDate} {
		if v, _ := d.Requisite(n); v != "" {
			return crm.OrderDelivered
		}
	}
	if v, _ := d.Requisite(reqDeliveryOK); truthy(v) {
		return crm.OrderApproved
	}
	return crm.OrderCreated
}

// statusNames are the names of Obmen's statuses 1C users write when the
// table says nothing (the seed's vtiger statuses, in Russian and English).
var statusNames = map[string]string{
	"created": crm.OrderCreated, "создан": crm.OrderCreated, "принят": crm.OrderCreated, "новый": crm.OrderCreated,
	"approved": crm.OrderApproved, "одобрен": crm.OrderApproved, "согласован": crm.OrderApproved,
	"delivered": crm.OrderDelivered, "доставлен": crm.OrderDelivered, "выполнен": crm.OrderDelivered,
	"cancelled": crm.OrderCancelled, "canceled": crm.OrderCancelled, "отменен": crm.OrderCancelled, "отменён": crm.OrderCancelled,
}

// StatusFrom1C maps a status as 1C or a site writes it to Obmen's,
// through the settings' table (Obmen status → text written to 1C) read
// backwards, then through the built-in names. ok is false when nothing
// matches: the caller derives the status from the other requisites.
func StatusFrom1C(v string, mapping map[string]string) (string, bool) {
	forms := statusForms(v)
	if len(forms) == 0 {
		return "", false
	}
	// Sorted, so that two statuses mapped to the same text always give
	// the same one.
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, f := range statusForms(mapping[k]) {
			if slices.Contains(forms, f) {
				return k, true
			}
		}
	}
	for _, f := range forms {
		if st, ok := statusNames[f]; ok {
			return st, true
		}
	}
	return "", false
}

// statusForms are the ways one status text is matched, lower-cased: as
// written, and for Bitrix's "[F] Доставлен" also "доставлен" and "f".
func statusForms(v string) []string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return nil
	}
	forms := []string{v}
	if strings.HasPrefix(v, "[") {
		if code, rest, ok := strings.Cut(v[1:], "]"); ok {
			if rest = strings.TrimSpace(rest); rest != "" {
				forms = append(forms, rest)
			}
			if code = strings.TrimSpace(code); code != "" {
				forms = append(forms, code, "["+code+"]")
			}
		}
	}
	return forms
}
