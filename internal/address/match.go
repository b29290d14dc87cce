package address

import (
	"context"
	"errors"
	"strings"

	"github.com/obmen/obmen/internal/db"
)

// Parts are an address as typed or imported (1C, web forms, CSV): the
// texts Match looks up.
type Parts struct {
	Region, City, Street, House string
}

// Matched is what Match found: the deepest part that matched exactly
// and uniquely, with the ids of that part.
type Matched struct {
	Level Level // "" when not even the city matched
	Suggestion
}

// Match looks an address up in the imported base: the city whose whole
// name (type words aside) is the city text — within the region when the
// region text matches one too — then the street of that city, then the
// house of that street. Each step needs exactly one object; the result is
// the deepest part found so, never a guess: two cities of the same name
// and no region to tell them apart stop at nothing.
func Match(ctx context.Context, d *db.DB, p Parts) (Matched, error) {
	var m Matched
	city, ok, err := unique(ctx, d, LevelCity, p.City, "", func(s Suggestion) bool {
		return p.Region == "" || NameKey(stripType(s.Region)) == NameKey(stripType(p.Region))
	})
	if err != nil || !ok {
		return m, err
	}
	m = Matched{Level: LevelCity, Suggestion: city}
	if strings.TrimSpace(p.Street) == "" {
		return m, nil
	}
	street, ok, err := unique(ctx, d, LevelStreet, p.Street, city.GUID, nil)
	if err != nil || !ok {
		return m, err
	}
	m = Matched{Level: LevelStreet, Suggestion: street}
	if strings.TrimSpace(p.House) == "" {
		return m, nil
	}
	house, ok, err := unique(ctx, d, LevelHouse, p.House, street.GUID, nil)
	if err != nil || !ok {
		return m, err
	}
	return Matched{Level: LevelHouse, Suggestion: house}, nil
}

// unique is the one object of level named exactly text (within parent),
// among those keep accepts.
func unique(ctx context.Context, d *db.DB, level Level, text, parent string, keep func(Suggestion) bool) (Suggestion, bool, error) {
	if strings.TrimSpace(text) == "" {
		return Suggestion{}, false, nil
	}
	got, err := Suggest(ctx, d, Query{Text: text, Level: level, Parent: parent, Limit: 50})
	if errors.Is(err, ErrUnknownParent) {
		return Suggestion{}, false, nil
	}
	if err != nil {
		return Suggestion{}, false, err
	}
	var want string
	if level == LevelHouse {
		want = HouseKey(text)
	} else {
		want = parseQuery(text, false).key
	}
	var found []Suggestion
	for _, s := range got {
		var key string
		if level == LevelHouse {
			key = HouseKey(s.Name)
		} else {
			key = NameKey(stripType(s.Name))
		}
		if key == want && (keep == nil || keep(s)) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return Suggestion{}, false, nil
	}
	return found[0], true, nil
}

// stripType drops a type word written before or after a name ("г Казань",
// "Татарстан Респ") so that names compare alone.
func stripType(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(parseQueryName(s), ",", " ")), " ")
}

// parseQueryName is the name part of s as parseQuery reads it.
func parseQueryName(s string) string { return parseQuery(s, false).key }
