package crm

import "strconv"

// PhotoOwnerTypes are the records that may have a photo: a client's face
// (lead, contact) or a company's logo (account).
var PhotoOwnerTypes = []string{"lead", "contact", "account"}

// Photo is the picture of a lead, contact or account (its bytes are read
// apart). Source says where it came from: "upload", "vk", "api".
type Photo struct {
	OwnerType   string `json:"owner_type"`
	OwnerID     int64  `json:"owner_id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Source      string `json:"source"`
	UpdatedByID int64  `json:"updated_by_id"`
	UpdatedAt   int64  `json:"-"`
}

// PhotoURL is the address of the photo of record id of kind ownerType
// whose picture has hash sum, under baseURL ("" gives a path from the
// server's root): the REST photo route, the hash as its version (a new
// picture is a new address).
func PhotoURL(baseURL, ownerType string, id int64, sum string) string {
	u := baseURL
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	u += "/api/v1/" + ownerType + "s/" + strconv.FormatInt(id, 10) + "/photo"
	if len(sum) >= 12 {
		u += "?v=" + sum[:12]
	}
	return u
}
