package bitrix

import (
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// dealFields are in the order Bitrix24 answers crm.deal.get.
var dealFields = func() []recField[crm.Deal] {
	type D = crm.Deal
	text := func(name, title, col string, get func(r *D) *string) recField[D] { return rText(name, title, col, get) }
	fs := []recField[D]{
		rRead("ID", "integer", "ID", "r.id", kInt, func(_ *recView, r *D) any { return strconv.FormatInt(r.ID, 10) }),
		text("TITLE", "Name", "r.title", func(r *D) *string { return &r.Title }),
		{name: "CATEGORY_ID", typ: "crm_category", title: "Pipeline", col: "r.category_id", kind: kInt,
			out: func(_ *recView, r *D) any { return strconv.FormatInt(r.CategoryID, 10) },
			in: func(r *D, val any, name string) error {
				n, err := parseInt(name, val)
				r.CategoryID = n
				return err
			}},
		rStatus("STAGE_ID", "Deal stage", "DEAL_STAGE", "r.stage_id", func(r *D) *string { return &r.StageID }),
		rRead("STAGE_SEMANTIC_ID", "string", "Stage group",
			"COALESCE((SELECT MAX(s.semantics) FROM statuses s WHERE s.entity_id LIKE 'DEAL_STAGE%' AND s.status_id = r.stage_id AND s.semantics <> ''), 'P')", kCode, func(v *recView, r *D) any {
				if s := v.semantics[r.StageID]; s != "" {
					return s
				}
				return "P"
			}),
		rRead("IS_NEW", "char", "New deal", "CASE WHEN r.stage_id = 'NEW' OR r.stage_id LIKE '%:NEW' THEN 'Y' ELSE 'N' END", kCode, func(_ *recView, r *D) any {
			return yn(r.StageID == "NEW" || strings.HasSuffix(r.StageID, ":NEW"))
		}),
		{name: "PROBABILITY", typ: "integer", title: "Probability", col: "r.probability", kind: kInt,
			out: func(_ *recView, r *D) any { return strconv.Itoa(r.Probability) },
			in: func(r *D, val any, name string) error {
				n, err := parseInt(name, val)
				r.Probability = int(n)
				return err
			}},
		func() recField[D] {
			f := text("CURRENCY_ID", "Currency", "r.currency", func(r *D) *string { return &r.Currency })
			f.typ, f.kind = "crm_currency", kCode
			return f
		}(),
		{name: "OPPORTUNITY", typ: "double", title: "Amount", col: "r.opportunity", kind: kAmount,
			out: func(_ *recView, r *D) any { return r.Opportunity.String() },
			in: func(r *D, val any, name string) error {
				a, err := parseMoney(name, val)
				r.Opportunity = a
				return err
			}},
		rRead("IS_MANUAL_OPPORTUNITY", "char", "IS_MANUAL_OPPORTUNITY", "", "", func(_ *recView, r *D) any { return yn(len(r.ProductRows) == 0) }),
		rID("COMPANY_ID", "crm_company", "Company", "r.account_id", func(r *D) *int64 { return &r.AccountID }),
		// CONTACT_ID is the first of the deal's contacts.
		{name: "CONTACT_ID", typ: "crm_contact", title: "Contact", kind: kInt,
			col: "(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.deal_id = r.id ORDER BY dc.sort, dc.contact_id LIMIT 1)",
			out: func(_ *recView, r *D) any {
				if len(r.ContactIDs) == 0 {
					return nil
				}
				return strconv.FormatInt(r.ContactIDs[0], 10)
			},
			in: func(r *D, val any, name string) error {
				n, err := parseInt(name, val)
				if err != nil || n < 0 {
					return crmError("Field %s: not a contact id", name)
				}
				ids := []int64{}
				if n > 0 {
					ids = append(ids, n)
				}
				for _, id := range r.ContactIDs {
					if id != n {
						ids = append(ids, id)
					}
				}
				r.ContactIDs = ids
				return nil
			}},
		{name: "CONTACT_IDS", typ: "crm_contact", title: "Contacts", multiple: true,
			out: func(_ *recView, r *D) any { return idList(r.ContactIDs) },
			in: func(r *D, val any, name string) error {
				ids, err := parseIDList(name, val)
				r.ContactIDs = ids
				return err
			}},
		rDate("BEGINDATE", "Start date", "r.begin_date", func(r *D) *string { return &r.BeginDate }),
		rDate("CLOSEDATE", "End date", "r.close_date", func(r *D) *string { return &r.CloseDate }),
		{name: "CLOSED", typ: "char", title: "Closed", col: "r.closed", kind: "bool",
			out: func(_ *recView, r *D) any { return yn(r.Closed) },
			in:  func(r *D, val any, _ string) error { r.Closed = truthy(val); return nil }},
		text("COMMENTS", "Comment", "r.comments", func(r *D) *string { return &r.Comments }),
	}
	fs = append(fs, rMeta(func(r *D) *crm.Meta { return &r.Meta })...)
	fs = append(fs,
		rStatus("SOURCE_ID", "Source", "SOURCE", "r.source_id", func(r *D) *string { return &r.SourceID }),
		text("SOURCE_DESCRIPTION", "Source information", "r.source_description", func(r *D) *string { return &r.SourceDescription }),
		rID("LEAD_ID", "crm_lead", "Lead", "r.lead_id", func(r *D) *int64 { return &r.LeadID }),
	)
	fs = append(fs, rOrigin(store.EntityDeal, func(r *D) *crm.Extra { return &r.Extra })...)
	fs = append(fs,
		text("UTM_SOURCE", "Ad system", "r.utm_source", func(r *D) *string { return &r.UTMSource }),
		text("UTM_MEDIUM", "Medium", "r.utm_medium", func(r *D) *string { return &r.UTMMedium }),
		text("UTM_CAMPAIGN", "Ad campaign UTM", "r.utm_campaign", func(r *D) *string { return &r.UTMCampaign }),
		text("UTM_CONTENT", "Campaign contents", "r.utm_content", func(r *D) *string { return &r.UTMContent }),
		text("UTM_TERM", "Campaign search term", "r.utm_term", func(r *D) *string { return &r.UTMTerm }),
	)
	fs = append(fs, rActivity(func(r *D) *crm.Meta { return &r.Meta })...)
	fs = append(fs,
		rRead("TAX_VALUE", "double", "Tax", "", "", func(_ *recView, r *D) any {
			var tax crm.Amount
			for _, row := range r.ProductRows {
				tax += row.Tax
			}
			return tax.String()
		}),
		// Obmen's deals have no type: TYPE_ID is empty, and a filter on
		// it matches what an empty type matches.
		func() recField[D] {
			f := rNone[D]("TYPE_ID", "crm_status", "Type", nil)
			f.col, f.kind, f.statusType = "''", kCode, "DEAL_TYPE"
			return f
		}(),
		rNone[D]("QUOTE_ID", "crm_quote", "Quote", nil),
		rNone[D]("ADDITIONAL_INFO", "string", "Additional information", nil),
		rNone[D]("LOCATION_ID", "location", "Location", nil),
		rNone[D]("IS_RECURRING", "char", "Recurring deal", "N"),
		rNone[D]("IS_RETURN_CUSTOMER", "char", "Repeat deal", "N"),
		rNone[D]("IS_REPEATED_APPROACH", "char", "Repeated inquiry", "N"),
		rNone[D]("MOVED_BY_ID", "user", "Stage changed by", nil),
		rNone[D]("MOVED_TIME", "datetime", "Stage changed", nil),
	)
	return fs
}()

var dealEntity = newEntity(store.EntityDeal, "deals", dealFields, nil, func(r *crm.Deal) *crm.Extra { return &r.Extra })

func (h *Handler) dealCRUD() *crud[crm.Deal] {
	return &crud[crm.Deal]{h: h, def: dealEntity, meta: func(r *crm.Deal) *crm.Meta { return &r.Meta },
		get: h.store.GetDeal, create: h.store.CreateDeal, update: h.store.UpdateDeal, semPrefix: "DEAL_STAGE"}
}
