package jobs

// Listening reports whether r's River listens for inserts (its commits
// wake it; tests).
func Listening(r *Runner) bool { return r.wake.listening.Load() }

// Quieted counts the insert notifications r left out (tests).
func Quieted(r *Runner) int64 { return r.wake.Quieted.Load() }
