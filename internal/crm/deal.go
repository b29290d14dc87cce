package crm

import (
	"strconv"
	"strings"
)

// Deal is an opportunity moving through a pipeline's stages: Bitrix24's
// crm.deal.
type Deal struct {
	Meta
	Title             string  `json:"title"`
	CategoryID        int64   `json:"category_id"`
	StageID           string  `json:"stage_id"`
	Opportunity       Amount  `json:"opportunity"`
	Currency          string  `json:"currency"`
	Probability       int     `json:"probability"`
	AccountID         int64   `json:"account_id"`
	ContactIDs        []int64 `json:"contact_ids"`
	LeadID            int64   `json:"lead_id"`
	SourceID          string  `json:"source_id"`
	SourceDescription string  `json:"source_description"`
	UTM
	BeginDate   string     `json:"begin_date"`
	CloseDate   string     `json:"close_date"`
	Closed      bool       `json:"closed"`
	Won         bool       `json:"won"`
	Comments    string     `json:"comments"`
	ProductRows []LineItem `json:"product_rows"`
	Extra
}

// Normalize trims, validates and fills defaults. Closed and Won are set by
// the store from the stage's semantics.
func (d *Deal) Normalize() error {
	trimAll(&d.Title, &d.StageID, &d.Currency, &d.SourceID)
	if d.Title == "" {
		return Invalid("title", "required")
	}
	if d.StageID == "" {
		d.StageID = "NEW"
		if d.CategoryID != 0 {
			d.StageID = "C" + strconv.FormatInt(d.CategoryID, 10) + ":NEW"
		}
	}
	if d.Currency == "" {
		d.Currency = "RUB"
	}
	d.Currency = strings.ToUpper(d.Currency)
	if d.Probability < 0 || d.Probability > 100 {
		return Invalid("probability", "must be between 0 and 100")
	}
	if d.Opportunity < 0 {
		return Invalid("opportunity", "must not be negative")
	}
	if d.CategoryID < 0 {
		return Invalid("category_id", "must not be negative")
	}
	if len(d.ProductRows) > 0 {
		t, err := ComputeItems("product_rows", d.ProductRows)
		if err != nil {
			return err
		}
		d.Opportunity = t.Total
	}
	if d.ProductRows == nil {
		d.ProductRows = []LineItem{}
	}
	if d.ContactIDs == nil {
		d.ContactIDs = []int64{}
	}
	seen := map[int64]bool{}
	for _, id := range d.ContactIDs {
		if id <= 0 || seen[id] {
			return Invalid("contact_ids", "%d is not a valid or is a repeated contact id", id)
		}
		seen[id] = true
	}
	return firstErr(
		checkLen("title", d.Title, 255),
		checkLen("comments", d.Comments, 65000),
		checkLen("source_description", d.SourceDescription, 65000),
		checkLen("utm_source", d.UTMSource, 255),
		checkLen("utm_medium", d.UTMMedium, 255),
		checkLen("utm_campaign", d.UTMCampaign, 255),
		checkLen("utm_content", d.UTMContent, 255),
		checkLen("utm_term", d.UTMTerm, 255),
		checkDate("begin_date", d.BeginDate),
		checkDate("close_date", d.CloseDate),
		checkCurrency("currency", d.Currency),
	)
}

// StageEntityID is the statuses.entity_id that holds the stages of a
// pipeline: DEAL_STAGE for the default one, DEAL_STAGE_<n> for others.
func StageEntityID(categoryID int64) string {
	if categoryID == 0 {
		return "DEAL_STAGE"
	}
	return "DEAL_STAGE_" + strconv.FormatInt(categoryID, 10)
}

// SearchText is what q= matches.
func (d *Deal) SearchText() string { return SearchText(d.Title) }
