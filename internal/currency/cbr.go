// Package currency loads exchange rates: the Central Bank of Russia's
// daily rates (https://www.cbr.ru/scripts/XML_daily.asp, XML in
// windows-1251) into the currencies dictionary, on a schedule (a River
// periodic job) through the SSRF-guarded HTTP client.
package currency

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// CBRURL is the Central Bank's daily rates.
const CBRURL = "https://www.cbr.ru/scripts/XML_daily.asp"

// maxBody bounds the rates document (about 10 KB in practice).
const maxBody = 1 << 20

// Rates are roubles per one unit of each currency (ISO code → rate as
// decimal text with at most four fractional digits), on Date
// (dd.mm.yyyy as the bank writes it).
type Rates struct {
	Date  string
	Rates map[string]*big.Rat
}

type valCurs struct {
	Date    string `xml:"Date,attr"`
	Valutes []struct {
		CharCode string `xml:"CharCode"`
		Nominal  string `xml:"Nominal"`
		Value    string `xml:"Value"`
	} `xml:"Valute"`
}

// ParseCBR reads the bank's XML_daily document. A currency whose nominal
// or value is not a positive number is an error naming it; a document
// with no currencies is an error.
func ParseCBR(r io.Reader) (Rates, error) {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "windows-1251", "cp1251":
			return charmap.Windows1251.NewDecoder().Reader(input), nil
		case "utf-8", "":
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	// No DTDs or external entities: encoding/xml reads none.
	var doc valCurs
	if err := dec.Decode(&doc); err != nil {
		return Rates{}, fmt.Errorf("currency: CBR rates: %w", err)
	}
	out := Rates{Date: doc.Date, Rates: map[string]*big.Rat{}}
	for i, v := range doc.Valutes {
		code := strings.ToUpper(strings.TrimSpace(v.CharCode))
		if len(code) != 3 {
			return Rates{}, fmt.Errorf("currency: CBR rates: Valute %d: CharCode %q is not a currency code", i+1, v.CharCode)
		}
		nominal, ok := new(big.Rat).SetString(strings.TrimSpace(v.Nominal))
		if !ok || nominal.Sign() <= 0 {
			return Rates{}, fmt.Errorf("currency: CBR rates: %s: Nominal %q is not a positive number", code, v.Nominal)
		}
		value, ok := new(big.Rat).SetString(strings.ReplaceAll(strings.TrimSpace(v.Value), ",", "."))
		if !ok || value.Sign() <= 0 {
			return Rates{}, fmt.Errorf("currency: CBR rates: %s: Value %q is not a positive number", code, v.Value)
		}
		out.Rates[code] = value.Quo(value, nominal)
	}
	if len(out.Rates) == 0 {
		return Rates{}, errors.New("currency: CBR rates: the document has no Valute")
	}
	return out, nil
}

// FetchCBR downloads and parses the rates from url with client (the
// SSRF-guarded one).
func FetchCBR(ctx context.Context, client *http.Client, url string) (Rates, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Rates{}, fmt.Errorf("currency: CBR rates: %w", err)
	}
	req.Header.Set("User-Agent", "Obmen")
	resp, err := client.Do(req)
	if err != nil {
		return Rates{}, fmt.Errorf("currency: CBR rates: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Rates{}, fmt.Errorf("currency: CBR rates: %s answered %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Rates{}, fmt.Errorf("currency: CBR rates: %w", err)
	}
	if len(body) > maxBody {
		return Rates{}, fmt.Errorf("currency: CBR rates: the answer is larger than %d bytes", maxBody)
	}
	return ParseCBR(strings.NewReader(string(body)))
}

// RateText is a rate as the dictionary holds it: four fractional digits.
func RateText(r *big.Rat) string {
	s := r.FloatString(4)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
