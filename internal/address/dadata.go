package address

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// DaDataURL is DaData's address suggest method (API 4_1).
const DaDataURL = "https://suggestions.dadata.ru/suggestions/api/4_1/rs/suggest/address"

// DaData suggests addresses from DaData's hosted service, for
// installations that prefer it to an imported base: POST of
// {"query", "count", "from_bound", "to_bound", "locations"} with
// "Authorization: Token <key>", answered by {"suggestions": [{"value",
// "unrestricted_value", "data": {…}}]}.
type DaData struct {
	Key  string
	URL  string       // DaDataURL when empty
	HTTP *http.Client // the SSRF-guarded outbound client
}

// DaDataError is DaData's refusal: 401 no or unknown key, 403 the key is
// not allowed (unconfirmed, blocked, daily limit spent), 429 too many
// requests a second, 5xx the service is down.
type DaDataError struct {
	Status int
	Body   string
}

func (e *DaDataError) Error() string {
	return fmt.Sprintf("address: dadata: HTTP %d: %s", e.Status, e.Body)
}

// dadataBounds are the parts a level asks for (DaData's from_bound and
// to_bound values).
var dadataBounds = map[Level][2]string{
	LevelCity:   {"city", "settlement"},
	LevelStreet: {"street", "street"},
	LevelHouse:  {"house", "house"},
}

type dadataBound struct {
	Value string `json:"value"`
}

type dadataRequest struct {
	Query     string              `json:"query"`
	Count     int                 `json:"count"`
	FromBound dadataBound         `json:"from_bound"`
	ToBound   dadataBound         `json:"to_bound"`
	Locations []map[string]string `json:"locations,omitempty"`
	// RestrictValue leaves the parent out of value (the street alone).
	RestrictValue bool `json:"restrict_value,omitempty"`
}

type dadataAnswer struct {
	Suggestions []struct {
		Value             string     `json:"value"`
		UnrestrictedValue string     `json:"unrestricted_value"`
		Data              dadataData `json:"data"`
	} `json:"suggestions"`
}

// dadataData is the part of a suggestion's data an address block uses.
type dadataData struct {
	PostalCode         string `json:"postal_code"`
	RegionWithType     string `json:"region_with_type"`
	RegionKladrID      string `json:"region_kladr_id"`
	CityWithType       string `json:"city_with_type"`
	SettlementWithType string `json:"settlement_with_type"`
	StreetWithType     string `json:"street_with_type"`
	HouseType          string `json:"house_type"`
	House              string `json:"house"`
	BlockType          string `json:"block_type"`
	Block              string `json:"block"`
	FiasID             string `json:"fias_id"`
	FiasLevel          string `json:"fias_level"`
	KladrID            string `json:"kladr_id"`
}

// Suggest asks DaData. A city is looked for among cities and
// settlements, a street within the parent city or settlement, a house
// within the parent street (or a settlement without streets).
func (c DaData) Suggest(ctx context.Context, q Query) ([]Suggestion, error) {
	bounds, ok := dadataBounds[q.Level]
	if !ok {
		return nil, fmt.Errorf("address: level %q: want city, street or house", q.Level)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	req := dadataRequest{Query: strings.TrimSpace(q.Text), Count: min(limit, 20), FromBound: dadataBound{bounds[0]}, ToBound: dadataBound{bounds[1]}}
	if p := strings.TrimSpace(q.Parent); p != "" {
		switch q.Level {
		case LevelCity:
			req.Locations = []map[string]string{{"region_fias_id": p}}
		case LevelStreet:
			req.Locations = []map[string]string{{"city_fias_id": p}, {"settlement_fias_id": p}}
		case LevelHouse:
			req.Locations = []map[string]string{{"street_fias_id": p}, {"settlement_fias_id": p}}
		}
		req.RestrictValue = true
	}
	if req.Query == "" {
		// DaData answers nothing to an empty query: the first entries of
		// a street list come from the local base only.
		return []Suggestion{}, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("address: dadata: %w", err)
	}
	url := c.URL
	if url == "" {
		url = DaDataURL
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("address: dadata: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("Authorization", "Token "+c.Key)
	client := c.HTTP
	if client == nil {
		return nil, fmt.Errorf("address: dadata: no outbound HTTP client")
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("address: dadata: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("address: dadata: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &DaDataError{Status: resp.StatusCode, Body: strings.TrimSpace(string(raw[:min(len(raw), 300)]))}
	}
	var ans dadataAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("address: dadata: the answer is not the suggest JSON: %w", err)
	}
	out := make([]Suggestion, 0, len(ans.Suggestions))
	for _, s := range ans.Suggestions {
		d := s.Data
		sg := Suggestion{Level: q.Level, Postcode: d.PostalCode, Region: d.RegionWithType,
			City: d.CityWithType, Street: d.StreetWithType, GUID: d.FiasID, KLADR: d.KladrID}
		if d.SettlementWithType != "" {
			sg.City = d.SettlementWithType
		}
		if len(d.RegionKladrID) >= 2 {
			fmt.Sscanf(d.RegionKladrID[:2], "%d", &sg.RegionCode)
		}
		if d.House != "" {
			sg.House = strings.TrimSpace(d.HouseType + " " + d.House)
			if d.Block != "" {
				sg.House += " " + strings.TrimSpace(d.BlockType+" "+d.Block)
			}
		}
		switch q.Level {
		case LevelCity:
			sg.Name = sg.City
			if sg.Name == "" {
				sg.Name = sg.Region
			}
		case LevelStreet:
			sg.Name = sg.Street
		default:
			sg.Name = sg.House
		}
		if sg.Name == "" {
			sg.Name = s.Value
		}
		// The full text as the local base writes it: region, city,
		// street, house.
		var parts []string
		for _, p := range []string{sg.Region, sg.City, sg.Street, sg.House} {
			if p != "" && (len(parts) == 0 || parts[len(parts)-1] != p) {
				parts = append(parts, p)
			}
		}
		sg.Value = strings.Join(parts, ", ")
		if sg.Value == "" {
			sg.Value = s.UnrestrictedValue
		}
		fmt.Sscanf(d.FiasLevel, "%d", &sg.GARLevel)
		out = append(out, sg)
	}
	return out, nil
}

// Fallback asks Primary and, when it fails, Secondary; Failed, when set,
// hears each failure (to log it and show it to an admin).
type Fallback struct {
	Primary, Secondary Suggester
	Failed             func(err error)
}

// Suggest is Primary's answer, or Secondary's when Primary fails or has
// nothing for an empty query.
func (f Fallback) Suggest(ctx context.Context, q Query) ([]Suggestion, error) {
	out, err := f.Primary.Suggest(ctx, q)
	if err == nil && (len(out) > 0 || strings.TrimSpace(q.Text) != "") {
		return out, nil
	}
	if err != nil && f.Failed != nil {
		f.Failed(err)
	}
	return f.Secondary.Suggest(ctx, q)
}
