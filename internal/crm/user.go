package crm

import (
	"strings"
	"time"
)

// Roles.
const (
	RoleAdmin   = "admin"
	RoleManager = "manager"
)

// User is a person who signs in to Obmen or on whose behalf an API key acts.
type User struct {
	ID         int64     `json:"id"`
	Login      string    `json:"login"`
	FirstName  string    `json:"first_name"`
	MiddleName string    `json:"middle_name"`
	LastName   string    `json:"last_name"`
	Email      string    `json:"email"`
	Phones     []string  `json:"phones"`
	Position   string    `json:"position"`
	Department string    `json:"department"`
	Role       string    `json:"role"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Normalize trims and validates.
func (u *User) Normalize() error {
	trimAll(&u.Login, &u.FirstName, &u.MiddleName, &u.LastName, &u.Email, &u.Position, &u.Department, &u.Role)
	if u.Login == "" {
		return Invalid("login", "required")
	}
	if strings.ContainsAny(u.Login, " \t\r\n/:") {
		return Invalid("login", "must not contain spaces, slashes or colons")
	}
	if u.Role == "" {
		u.Role = RoleManager
	}
	if u.Role != RoleAdmin && u.Role != RoleManager {
		return Invalid("role", "%q is not one of admin, manager", u.Role)
	}
	if u.Email != "" {
		n, ok := NormalizeEmail(u.Email)
		if !ok {
			return Invalid("email", "%q is not an e-mail address", u.Email)
		}
		u.Email = n
	}
	if u.Phones == nil {
		u.Phones = []string{}
	}
	return checkLen("login", u.Login, 100)
}

// APIKey describes a key without its secret.
type APIKey struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}
