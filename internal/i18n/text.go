package i18n

// Text is a label in each language of the interface, as the API gives
// the descriptions of actions, triggers and connection types.
type Text struct {
	Ru string `json:"ru"`
	En string `json:"en"`
}

// IsZero is true for an absent text.
func (t Text) IsZero() bool { return t.Ru == "" && t.En == "" }

// In returns the text in lang, Russian when there is none.
func (t Text) In(lang string) string {
	if lang == En && t.En != "" {
		return t.En
	}
	return t.Ru
}

// Text is key in both languages: fallback when there is no Russian text,
// the Russian one when there is no English.
func (c *Catalog) Text(key, fallback string) Text {
	t := c.OptText(key)
	if t.Ru == "" {
		t.Ru = fallback
	}
	if t.En == "" {
		t.En = t.Ru
	}
	return t
}

// OptText is key in both languages as the files have it (empty where a
// language lacks it).
func (c *Catalog) OptText(key string) Text {
	ru, _ := c.Lookup(Ru, key)
	en, _ := c.Lookup(En, key)
	return Text{Ru: ru, En: en}
}
