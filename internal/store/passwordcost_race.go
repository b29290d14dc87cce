//go:build race

package store

import "golang.org/x/crypto/bcrypt"

// passwordCost in a build with the race detector (go test -race; never a
// release build) is bcrypt's minimum. The detector instruments every memory
// access of bcrypt's key schedule, which makes one hash at the default cost
// take 1–5 s instead of 0.1 s, and the tests hash or check a password at
// every user they create and every sign-in: that was the largest part of
// the suite's time. The code path is the same at any cost (the cost is
// stored in the hash; CompareHashAndPassword reads it from there).
const passwordCost = bcrypt.MinCost
