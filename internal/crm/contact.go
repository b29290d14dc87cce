package crm

// Contact is a person: Bitrix24's crm.contact.
type Contact struct {
	Meta
	Honorific  string `json:"honorific"`
	Name       string `json:"name"`
	SecondName string `json:"second_name"`
	LastName   string `json:"last_name"`
	Position   string `json:"position"`
	Birthdate  string `json:"birthdate"`
	Comms
	Address           Address `json:"address"`
	OtherAddress      Address `json:"other_address"`
	SourceID          string  `json:"source_id"`
	SourceDescription string  `json:"source_description"`
	Comments          string  `json:"comments"`
	LeadID            int64   `json:"lead_id"`
	// AccountIDs are the accounts the contact works for, the first being
	// the main one (Bitrix24's COMPANY_ID).
	AccountIDs []int64 `json:"account_ids"`
	Extra
}

// Normalize trims, validates and fills defaults.
func (c *Contact) Normalize() error {
	trimAll(&c.Honorific, &c.Name, &c.SecondName, &c.LastName, &c.Position, &c.SourceID)
	if err := c.Comms.Normalize(); err != nil {
		return err
	}
	if c.Name == "" && c.LastName == "" && c.SecondName == "" {
		if len(c.Phones) == 0 && len(c.Emails) == 0 {
			return Invalid("name", "required: give a name, a last name, a phone or an e-mail")
		}
	}
	if c.AccountIDs == nil {
		c.AccountIDs = []int64{}
	}
	seen := map[int64]bool{}
	for _, id := range c.AccountIDs {
		if id <= 0 {
			return Invalid("account_ids", "%d is not an account id", id)
		}
		if seen[id] {
			return Invalid("account_ids", "account %d is listed twice", id)
		}
		seen[id] = true
	}
	return firstErr(
		checkLen("name", c.Name, 100),
		checkLen("second_name", c.SecondName, 100),
		checkLen("last_name", c.LastName, 100),
		checkLen("position", c.Position, 255),
		checkLen("comments", c.Comments, 65000),
		checkDate("birthdate", c.Birthdate),
	)
}

// FullName is "Last First Middle", as Russian documents write it.
func (c *Contact) FullName() string {
	return SearchText(c.LastName, c.Name, c.SecondName)
}

// SearchText is what q= matches.
func (c *Contact) SearchText() string {
	return SearchText(c.LastName, c.Name, c.SecondName, c.Position)
}
