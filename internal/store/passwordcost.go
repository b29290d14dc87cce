//go:build !race

package store

import "golang.org/x/crypto/bcrypt"

// passwordCost is the bcrypt cost of new password hashes (and of the dummy
// hash an unknown login is checked against). See passwordcost_race.go for
// the race detector's builds.
const passwordCost = bcrypt.DefaultCost
