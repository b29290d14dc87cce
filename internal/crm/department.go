package crm

// Department is a node of the company's structure (Bitrix24's
// department.*): the root has no parent; users belong to departments.
type Department struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Sort     int    `json:"sort"`
	ParentID *int64 `json:"parent_id"`
	// HeadUserID is the department's head, 0 for none.
	HeadUserID int64 `json:"head_user_id"`
}

// Normalize trims and validates.
func (d *Department) Normalize() error {
	trimAll(&d.Name)
	if d.Name == "" {
		return Invalid("name", "required")
	}
	if err := checkLen("name", d.Name, 255); err != nil {
		return err
	}
	if d.Sort == 0 {
		d.Sort = 500
	}
	if d.HeadUserID < 0 {
		return Invalid("head_user_id", "%d is not a user id", d.HeadUserID)
	}
	return nil
}
