package connection

// SetJournalKeep changes how many entries a connection's journal keeps
// (tests); it returns the way back.
func SetJournalKeep(n int) (restore func()) {
	old := journalKeep
	journalKeep = n
	return func() { journalKeep = old }
}
