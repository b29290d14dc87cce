package tmpl

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxDecimals caps the decimals argument of number(), money() and round().
const maxDecimals = 12

// fnNum is num(v): a number from numeric text such as "1500.50" or
// "1 500,50" (CRM decimals are strings; see parseNumber), int64 when
// whole. Numbers pass through; nil and blank text give nil (missing data
// stays missing; default(num(x), 0) fills it); other text is an error.
func fnNum(_ *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	n, present, err := numberArg(args[0])
	if err != nil || !present {
		return nil, err
	}
	return n.value(), nil
}

// decimalsArg reads the optional decimals argument at args[i]; -1 means
// "as many as needed".
func decimalsArg(args []any, i int) (int, error) {
	if len(args) <= i {
		return -1, nil
	}
	d, err := intArg(args[i], "decimals")
	if err != nil {
		return 0, err
	}
	if d < 0 || d > maxDecimals {
		return 0, fmt.Errorf("decimals must be from 0 to %d, got %d", maxDecimals, d)
	}
	return d, nil
}

// plainDecimal writes n with the given decimals (-1: as needed, at most
// maxPlaces) in plain notation with a dot.
func plainDecimal(n number, decimals int) (string, error) {
	if !n.isInt && (math.IsNaN(n.f) || math.IsInf(n.f, 0)) {
		return "", errors.New("not a finite number")
	}
	places, trim := decimals, false
	if decimals < 0 {
		places, trim = maxPlaces, true
	}
	if n.isInt {
		return intText(n.i, places, trim), nil
	}
	return decimalText(n.f, places, trim), nil
}

// fnNumber is number(v[, decimals]): Russian number text, "1 234 567,5"
// (NBSP between thousands, decimal comma); decimals fixes the count of
// fractional digits. nil and blank text give "".
func fnNumber(_ *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	n, present, err := numberArg(args[0])
	if err != nil || !present {
		return "", err
	}
	decimals, err := decimalsArg(args, 1)
	if err != nil {
		return nil, err
	}
	s, err := plainDecimal(n, decimals)
	if err != nil {
		return nil, err
	}
	return russianNumber(s), nil
}

// currencySigns are written after the amount, as Russian texts do;
// other codes are written as they are ("1 500,00 KZT").
var currencySigns = map[string]string{"RUB": "₽", "RUR": "₽", "USD": "$", "EUR": "€"}

// fnMoney is money(v[, currency]): always two decimals, "1 500,50 ₽".
// currency is an ISO code, RUB by default. nil and blank text give "".
func fnMoney(r *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	n, present, err := numberArg(args[0])
	if err != nil || !present {
		return "", err
	}
	sign := "₽"
	if len(args) == 2 && !isBlank(args[1]) {
		code, err := textArg(r, args[1])
		if err != nil {
			return nil, err
		}
		code = strings.ToUpper(strings.TrimSpace(code))
		if len(code) > 16 {
			return nil, fmt.Errorf("currency %q is not a code like RUB", truncate(code, 16))
		}
		var ok bool
		if sign, ok = currencySigns[code]; !ok {
			sign = code
		}
	}
	s, err := plainDecimal(n, 2)
	if err != nil {
		return nil, err
	}
	return russianNumber(s) + "\u00a0" + sign, nil
}

// fnRound is round(v[, decimals]): half away from zero (2.5 → 3,
// 2.675 → 2.68 as written), numeric text accepted. expr's round has no
// decimals. nil gives nil.
func fnRound(_ *run, args []any) (any, error) {
	if err := arity(args, 1, 2); err != nil {
		return nil, err
	}
	n, present, err := numberArg(args[0])
	if err != nil || !present {
		return nil, err
	}
	decimals, err := decimalsArg(args, 1)
	if err != nil {
		return nil, err
	}
	if decimals < 0 {
		decimals = 0
	}
	if n.isInt {
		return n.i, nil
	}
	s, err := plainDecimal(n, decimals)
	if err != nil {
		return nil, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, err
	}
	return normFloat(f), nil
}
